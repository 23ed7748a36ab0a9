// One background sync run: what SyncWorker.doWork does, apart from
// WorkManager, so that it is tested here under Robolectric.
package dev.mooring.android

import android.content.Context
import dev.mooring.ffi.MooringException

/** What the run asks of WorkManager: WorkManager's three `Result`s. */
enum class BackgroundSyncResult { SUCCESS, RETRY, FAILURE }

/** Syncs the app's Mooring once; [context]'s Application must be a [MooringHost]. */
suspend fun backgroundSync(context: Context): BackgroundSyncResult {
    val host = context.applicationContext as? MooringHost ?: return BackgroundSyncResult.FAILURE
    return backgroundSync(host)
}

suspend fun backgroundSync(host: MooringHost): BackgroundSyncResult {
    val mooring = host.mooring() ?: return BackgroundSyncResult.SUCCESS // signed out: nothing to sync
    return try {
        // The app paused sync when it went to the background: resume for this run.
        host.syncLifecycle.whileRunning { mooring.syncNow() }
        BackgroundSyncResult.SUCCESS
    } catch (e: MooringException.Offline) {
        BackgroundSyncResult.RETRY
    } catch (e: MooringException.Throttled) {
        BackgroundSyncResult.RETRY
    } catch (e: MooringException.WaitingForWifi) {
        // WorkManager's network constraint should have held this run back.
        BackgroundSyncResult.RETRY
    } catch (e: MooringException) {
        // Auth, storage...: the status icon tells the user; the next period tries again.
        BackgroundSyncResult.SUCCESS
    }
}
