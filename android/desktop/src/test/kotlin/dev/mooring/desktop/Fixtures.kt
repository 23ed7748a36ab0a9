// Status values for the golden images: each the record the Rust core sends in
// that state, with the core's own English texts (core/src/status/messages.rs),
// so the pictures show what a user reads.
package dev.mooring.desktop

import dev.mooring.ffi.CanvasSync
import dev.mooring.ffi.ChangeAction
import dev.mooring.ffi.Connectivity
import dev.mooring.ffi.InitialSyncProgress
import dev.mooring.ffi.StatusWarning
import dev.mooring.ffi.SyncErrorInfo
import dev.mooring.ffi.SyncErrorKind
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncPhase
import dev.mooring.ffi.SyncStatus
import dev.mooring.ffi.UnreachableReason
import dev.mooring.ffi.Value

fun status(
    icon: SyncIcon,
    title: String,
    description: String,
    key: String = "status.test",
    phase: SyncPhase = SyncPhase.IDLE,
    complete: Boolean = true,
    progress: InitialSyncProgress? = null,
    pending: ULong = 0uL,
    errors: ULong = 0uL,
    warnings: List<StatusWarning> = emptyList(),
    connectivity: Connectivity = Connectivity.Reachable,
) = SyncStatus(
    icon = icon,
    messageKey = key,
    title = title,
    description = description,
    canvas = CanvasSync.CONNECTED,
    connectivity = connectivity,
    phase = phase,
    initialSyncComplete = complete,
    progress = progress,
    pendingChanges = pending,
    syncErrors = errors,
    warnings = warnings,
    blockingFailure = null,
    lastSyncedAtMs = null,
)

/** The six icons, by the file name of their images. */
val iconStates: Map<String, SyncStatus> = linkedMapOf(
    "connected" to status(SyncIcon.CONNECTED, "Up to date", "Connected, and everything is synced.", "status.connected"),
    "not-connected" to status(
        SyncIcon.NOT_CONNECTED, "Not connected",
        "You are offline. You can keep working: changes are saved on this device and uploaded when you reconnect.",
        "status.not_connected.offline", connectivity = Connectivity.Offline,
    ),
    "syncing" to status(
        SyncIcon.SYNCING, "Syncing", "Getting the latest changes from the server.", "status.syncing.delta",
        phase = SyncPhase.DELTA_SYNC,
    ),
    "pending-upload" to status(
        SyncIcon.PENDING_UPLOAD, "Changes saved on this device",
        "3 changes saved on this device will be uploaded when you are back online.",
        "status.pending_upload.offline", pending = 3uL, connectivity = Connectivity.Offline,
    ),
    "error" to status(
        SyncIcon.ERROR, "Some changes were not saved",
        "The server rejected 1 change. Open the sync errors to retry or discard it; your other changes keep syncing.",
        "status.error.sync_errors", errors = 1uL,
    ),
    "warning" to status(
        SyncIcon.WARNING, "Server unreachable",
        "The server did not answer in time. Sync resumes by itself when the server answers.",
        "status.warning.server_unreachable",
        warnings = listOf(StatusWarning.ServerUnreachable(UnreachableReason.TIMEOUT)),
        connectivity = Connectivity.Unreachable(UnreachableReason.TIMEOUT),
    ),
)

private fun progress(rows: ULong, tables: UInt, bytes: ULong, eta: ULong?) =
    InitialSyncProgress(tablesDone = tables, tablesTotal = 3u, rowsDone = rows, rowsTotal = 15_000uL, bytes = bytes, etaSecs = eta)

private fun initial(rows: ULong, tables: UInt, bytes: ULong, eta: ULong?) = status(
    SyncIcon.SYNCING, "Downloading your data",
    "$rows of 15000 rows and $tables of 3 tables downloaded.", "status.syncing.initial",
    phase = SyncPhase.INITIAL_SYNC, complete = false, progress = progress(rows, tables, bytes, eta),
)

/** The loading screen's four states. */
val loadingStates: Map<String, SyncStatus> = linkedMapOf(
    "loading-0" to initial(0uL, 0u, 0uL, null),
    "loading-mid" to initial(6_200uL, 1u, 2_480_000uL, 95uL),
    "loading-paused-offline" to status(
        SyncIcon.NOT_CONNECTED, "Not connected",
        "The first download paused at 6200 of 15000 rows. It resumes where it stopped when you reconnect; the rows downloaded so far are available.",
        "status.not_connected.first_sync_paused",
        complete = false, progress = progress(6_200uL, 1u, 2_480_000uL, 95uL), connectivity = Connectivity.Offline,
        warnings = listOf(StatusWarning.FirstSyncIncomplete),
    ),
    "loading-complete" to initial(15_000uL, 3u, 6_010_000uL, 0uL),
)

/** Two refused changes, at fixed times (rendered in UTC). */
val syncErrors: List<SyncErrorInfo> = listOf(
    SyncErrorInfo(
        id = 1, atMs = 1_790_000_000_000, table = "accounts", rowId = "3f2b8c1e-0000-4000-8000-000000000001",
        action = ChangeAction.UPDATE, values = mapOf("name" to Value.Text("Contoso"), "telephone1" to Value.Text("555-0101")),
        httpStatus = 412u, code = "0x80060882", message = "The version of the existing record doesn't match the RowVersion property provided.",
        kind = SyncErrorKind.CONFLICT, transaction = emptyList(),
    ),
    SyncErrorInfo(
        id = 2, atMs = 1_790_000_600_000, table = "accounts", rowId = "9a7d6e5f-0000-4000-8000-000000000002",
        action = ChangeAction.CREATE, values = mapOf("name" to Value.Text("Fabrikam"), "telephone1" to Value.Text("x".repeat(3))),
        httpStatus = 400u, code = "0x80060888", message = "telephone1: the value is not a phone number.",
        kind = SyncErrorKind.OTHER, transaction = emptyList(),
    ),
)
