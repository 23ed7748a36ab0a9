// The status of a Mooring as Compose state, safe for an instance that is or
// becomes closed. Reading `currentStatus` while composing threw
// `MooringException.Closed` after `close()`/`signOut()` (issue 13, defect 8):
// the first value is read once, guarded, and the rest comes from the
// `status` Flow, which completes when the instance closes.
package dev.mooring.ui

import androidx.compose.runtime.Composable
import androidx.compose.runtime.State
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import dev.mooring.Mooring
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.SyncStatus
import kotlinx.coroutines.flow.conflate

/**
 * The latest status while [this] is open; null once it is closed (or if it
 * already was). Collected while composed: the Rust listener is removed when
 * the caller leaves the composition.
 */
@Composable
fun Mooring.statusAsState(): State<SyncStatus?> {
    val mooring = this
    // The first frame shows the real status, not a blank: one read, which a
    // closed instance answers with Closed (then there is nothing to show).
    val first = remember(mooring) {
        try {
            mooring.currentStatus
        } catch (closed: MooringException.Closed) {
            null
        }
    }
    return produceState(first, mooring) {
        try {
            mooring.status.conflate().collect { value = it }
        } catch (closed: MooringException.Closed) {
            // closed before the listener could register
        }
        // The Flow completed: close() or signOut() ran; the status is gone.
        value = null
    }
}
