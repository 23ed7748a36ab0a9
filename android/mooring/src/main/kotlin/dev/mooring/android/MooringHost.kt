// What the app's Application gives the background worker.
// No android.* import (SyncWorker.kt holds the WorkManager part).
package dev.mooring.android

import dev.mooring.Mooring

/** Implemented by the app's `Application`. */
interface MooringHost {
    /** The open Mooring, opening it if needed; null when nobody is signed in. */
    suspend fun mooring(): Mooring?

    /** Fed by the app's process lifecycle; the worker runs its sync through it. */
    val syncLifecycle: SyncLifecycle
}
