// Periodic sync while the app is not in the foreground: a WorkManager
// CoroutineWorker that asks the app for its Mooring and calls syncNow().
package dev.mooring.android

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import dev.mooring.Mooring
import dev.mooring.ffi.MooringException
import java.util.concurrent.TimeUnit

/** Implemented by the app's Application: its open Mooring, opening it if needed; null when signed out. */
interface MooringHost {
    suspend fun mooring(): Mooring?
}

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    companion object {
        private const val NAME = "dev.mooring.periodic-sync"

        /** Every [minutes] (WorkManager's floor is 15) while a network is up (unmetered with [wifiOnly]). */
        fun schedule(context: Context, minutes: Long = 15, wifiOnly: Boolean = false) {
            val constraints = Constraints.Builder()
                .setRequiredNetworkType(if (wifiOnly) NetworkType.UNMETERED else NetworkType.CONNECTED)
                .build()
            val request = PeriodicWorkRequestBuilder<SyncWorker>(minutes.coerceAtLeast(15), TimeUnit.MINUTES)
                .setConstraints(constraints)
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(NAME, ExistingPeriodicWorkPolicy.UPDATE, request)
        }

        /** At sign-out. */
        fun cancel(context: Context) = WorkManager.getInstance(context).cancelUniqueWork(NAME)
    }

    override suspend fun doWork(): Result {
        val host = applicationContext as? MooringHost ?: return Result.failure()
        val mooring = host.mooring() ?: return Result.success()
        return try {
            mooring.syncNow()
            Result.success()
        } catch (e: MooringException.Offline) {
            Result.retry()
        } catch (e: MooringException.Throttled) {
            Result.retry()
        } catch (e: MooringException) {
            // Auth, storage...: the status icon tells the user; the next period tries again.
            Result.success()
        }
    }
}
