// Periodic sync while the app is not in the foreground: a WorkManager
// CoroutineWorker, a few lines over backgroundSync() (BackgroundSync.kt,
// tested under Robolectric). scripts/test-kotlin compiles this file against
// WorkManager's classes; no test here runs it inside WorkManager.
package dev.mooring.android

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit

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

    override suspend fun doWork(): Result = when (backgroundSync(applicationContext)) {
        BackgroundSyncResult.SUCCESS -> Result.success()
        BackgroundSyncResult.RETRY -> Result.retry()
        BackgroundSyncResult.FAILURE -> Result.failure()
    }
}
