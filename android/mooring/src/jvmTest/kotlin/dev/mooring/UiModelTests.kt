// The pure-Kotlin UI model (what SyncStatusIcon and InitialSyncScreen draw),
// over hand-made statuses: every icon, the badge, the bar, the ETA text.
package dev.mooring

import dev.mooring.ffi.CanvasSync
import dev.mooring.ffi.Connectivity
import dev.mooring.ffi.InitialSyncProgress
import dev.mooring.ffi.StatusWarning
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncPhase
import dev.mooring.ffi.SyncStatus
import dev.mooring.ui.model.etaText
import dev.mooring.ui.model.iconModel
import dev.mooring.ui.model.initialSyncModel
import dev.mooring.ui.model.progressFraction
import java.util.Locale
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test

fun status(
    icon: SyncIcon,
    pending: ULong = 0uL,
    errors: ULong = 0uL,
    progress: InitialSyncProgress? = null,
    complete: Boolean = true,
    warnings: List<StatusWarning> = emptyList(),
    phase: SyncPhase = SyncPhase.IDLE,
) = SyncStatus(
    icon = icon,
    messageKey = "status.test",
    title = "Title",
    description = "Description",
    canvas = CanvasSync.CONNECTED,
    connectivity = Connectivity.Reachable,
    phase = phase,
    initialSyncComplete = complete,
    progress = progress,
    pendingChanges = pending,
    syncErrors = errors,
    warnings = warnings,
    blockingFailure = null,
    lastSyncedAtMs = null,
)

class UiModelTests {
    @Test
    fun `six icons, six distinct descriptions, badges count pending changes and errors`() {
        val models = SyncIcon.entries.map { status(it).iconModel() }
        assertEquals(6, models.map { it.contentDescription }.toSet().size, "distinct descriptions")
        assertTrue(models.all { it.badge == null }, "no badge without counts")
        assertEquals(listOf(SyncIcon.SYNCING), models.filter { it.animated }.map { it.icon }, "only syncing animates")
        val pending = status(SyncIcon.PENDING_UPLOAD, pending = 3uL).iconModel()
        assertEquals("3", pending.badge, "pending badge")
        assertTrue(pending.contentDescription.endsWith("(3)"), pending.contentDescription)
        assertEquals("99+", status(SyncIcon.ERROR, errors = 250uL).iconModel().badge, "capped badge")
        // A pending count under another icon is not that icon's badge.
        assertEquals(null, status(SyncIcon.SYNCING, pending = 2uL).iconModel().badge, "syncing has no badge")
        val m = status(SyncIcon.WARNING).iconModel()
        assertEquals(Triple("Title", "Description", "status.test"), Triple(m.title, m.description, m.messageKey), "tap texts")
    }

    @Test
    fun `the loading screen's bar, counts, ETA and the needs-a-connection case`() {
        val p = InitialSyncProgress(tablesDone = 1u, tablesTotal = 3u, rowsDone = 1200uL, rowsTotal = 5000uL, bytes = 0uL, etaSecs = 95uL)
        val s = status(SyncIcon.SYNCING, progress = p, complete = false, phase = SyncPhase.INITIAL_SYNC).initialSyncModel(Locale.US)
        assertTrue(s.visible && s.running && !s.needsConnection, "$s")
        assertEquals(0.24f, s.fraction, "fraction")
        assertEquals("1,200 of 5,000 rows", s.rowsText, "rows")
        assertEquals("1 of 3 tables", s.tablesText, "tables")
        assertEquals("About 2 minutes left", s.etaText, "eta")
        val offline = status(SyncIcon.WARNING, complete = false, warnings = listOf(StatusWarning.FirstSyncNeedsConnection)).initialSyncModel(Locale.US)
        assertTrue(offline.visible && offline.needsConnection && offline.rowsText == null && offline.etaText == null, "$offline")
        assertEquals(0f, offline.fraction, "no progress yet")
        assertTrue(!status(SyncIcon.CONNECTED).initialSyncModel().visible, "hidden once complete")
        assertEquals(0f, progressFraction(5uL, 0uL), "unknown total")
        assertEquals(1f, progressFraction(120uL, 100uL), "an estimate exceeded stays full")
        assertEquals(
            listOf("Less than a minute left", "About 1 minute left", "About 5 minutes left", "About 1 h left", "About 2 h 5 min left"),
            listOf(30L, 70L, 290L, 3600L, 7500L).map(::etaText),
            "eta texts",
        )
    }
}
