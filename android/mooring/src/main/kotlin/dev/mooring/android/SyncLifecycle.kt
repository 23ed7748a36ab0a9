// When the app's Mooring syncs: while the app is in the foreground, or while
// a background job (SyncWorker) runs. Paused otherwise, so a backgrounded app
// spends no battery or data between jobs.
// No android.* import; compiled against android-all and tested under
// Robolectric by scripts/test-kotlin.
package dev.mooring.android

import dev.mooring.Mooring

/**
 * The one place that calls [Mooring.pause] and [Mooring.resume]. Issue 13,
 * defect 1: the app paused in `onStop` and the worker's `syncNow()` was then
 * refused ("sync is paused") on every run. A job now resumes for its run and
 * pauses again afterwards unless the app came to the foreground meanwhile
 * (iOS's BackgroundRefresh resumes and pauses around its run the same way);
 * the lifecycle observer and the worker go through here, so neither undoes
 * the other.
 */
class SyncLifecycle {
    private var mooring: Mooring? = null
    private var foreground = false
    private var jobs = 0

    // What the Mooring was last told (null: nothing yet).
    private var running: Boolean? = null

    /** The app's Mooring, once opened: it is paused at once if the app is in the background. */
    @Synchronized
    fun attach(mooring: Mooring) {
        this.mooring = mooring
        running = null
        apply()
    }

    /** From the process lifecycle: `onStart` → true, `onStop` → false. */
    @Synchronized
    fun setForeground(inForeground: Boolean) {
        foreground = inForeground
        apply()
    }

    /** Runs [block] with sync resumed, whatever the app's state. */
    suspend fun <T> whileRunning(block: suspend () -> T): T {
        synchronized(this) {
            jobs++
            apply()
        }
        try {
            return block()
        } finally {
            synchronized(this) {
                jobs--
                apply()
            }
        }
    }

    private fun apply() {
        val m = mooring ?: return
        val want = foreground || jobs > 0
        if (want == running) return
        running = want
        // Closed after sign-out: nothing left to pause.
        runCatching { if (want) m.resume() else m.pause() }
    }
}
