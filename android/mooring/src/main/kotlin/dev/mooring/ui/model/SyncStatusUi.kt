// What the shell's two pieces of UI show, computed from a SyncStatus without
// any Android type, so it is unit-tested on the JVM and the Compose code
// (dev.mooring.ui) only draws it. English texts here are the defaults; an app
// that translates keys its strings by `messageKey` (docs/status.md).
package dev.mooring.ui.model

import dev.mooring.ffi.InitialSyncProgress
import dev.mooring.ffi.StatusWarning
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncPhase
import dev.mooring.ffi.SyncStatus
import java.text.NumberFormat
import java.util.Locale

/** The status icon: which of the six, what a screen reader says, the count badge, and what a tap shows. */
data class StatusIconModel(
    val icon: SyncIcon,
    /** Short and distinct per icon; the count is added when there is one. */
    val contentDescription: String,
    /** Pending changes or sync errors to show on the icon; null: no badge. */
    val badge: String?,
    /** Syncing: animate the icon. */
    val animated: Boolean,
    /** The tap's dialog: core's title and description, and the stable key. */
    val title: String,
    val description: String,
    val messageKey: String,
)

fun SyncStatus.iconModel(): StatusIconModel {
    val count = when (icon) {
        SyncIcon.PENDING_UPLOAD -> pendingChanges
        SyncIcon.ERROR -> syncErrors
        else -> 0uL
    }
    val base = when (icon) {
        SyncIcon.CONNECTED -> "Sync status: up to date"
        SyncIcon.NOT_CONNECTED -> "Sync status: not connected"
        SyncIcon.SYNCING -> "Sync status: syncing"
        SyncIcon.PENDING_UPLOAD -> "Sync status: changes waiting to upload"
        SyncIcon.ERROR -> "Sync status: error"
        SyncIcon.WARNING -> "Sync status: warning"
    }
    return StatusIconModel(
        icon = icon,
        contentDescription = if (count > 0uL) "$base ($count)" else base,
        badge = when {
            count == 0uL -> null
            count > 99uL -> "99+"
            else -> count.toString()
        },
        animated = icon == SyncIcon.SYNCING,
        title = title,
        description = description,
        messageKey = messageKey,
    )
}

/** The initial-sync loading screen. */
data class InitialSyncModel(
    /** Show the loading screen instead of the app: the first sync is not complete. */
    val visible: Boolean,
    /** The first launch is offline: nothing can download until a connection comes. */
    val needsConnection: Boolean,
    /** 0..1 for the determinate bar (0 while totals are unknown). */
    val fraction: Float,
    /** "1,200 of 5,000 rows"; null before the first count. */
    val rowsText: String?,
    /** "1 of 3 tables"; null before the first count. */
    val tablesText: String?,
    /** "About 2 minutes left"; null until core can estimate. */
    val etaText: String?,
    /** "12.4 MB downloaded"; null before the first byte. */
    val bytesText: String? = null,
    /** Started, not finished, not running now (offline, paused, waiting to retry): the bar stays where it was. */
    val paused: Boolean = false,
    /** Core's title/description of the current status (the offline case says why). */
    val title: String,
    val description: String,
    val running: Boolean,
)

fun SyncStatus.initialSyncModel(locale: Locale = Locale.getDefault()): InitialSyncModel {
    val p: InitialSyncProgress? = progress
    val numbers = NumberFormat.getIntegerInstance(locale)
    return InitialSyncModel(
        visible = !initialSyncComplete,
        needsConnection = warnings.any { it is StatusWarning.FirstSyncNeedsConnection },
        fraction = p?.let { progressFraction(it.rowsDone, it.rowsTotal) } ?: 0f,
        rowsText = p?.takeIf { it.rowsTotal > 0uL || it.rowsDone > 0uL }?.let {
            "${numbers.format(it.rowsDone.toLong())} of ${numbers.format(it.rowsTotal.toLong())} rows"
        },
        tablesText = p?.takeIf { it.tablesTotal > 0u }?.let { "${it.tablesDone} of ${it.tablesTotal} tables" },
        // No ETA while paused: the last estimate describes a download that is not happening.
        etaText = p?.etaSecs?.takeIf { phase == SyncPhase.INITIAL_SYNC }?.let { etaText(it.toLong()) },
        bytesText = p?.bytes?.takeIf { it > 0uL }?.let { "${bytesText(it.toLong(), locale)} downloaded" },
        paused = !initialSyncComplete && p != null && phase != SyncPhase.INITIAL_SYNC,
        title = title,
        description = description,
        running = phase == SyncPhase.INITIAL_SYNC,
    )
}

/** rows done / total, clamped to 0..1 (the total is the server's estimate; more rows can arrive). */
fun progressFraction(done: ULong, total: ULong): Float =
    if (total == 0uL) 0f else (done.toDouble() / total.toDouble()).coerceIn(0.0, 1.0).toFloat()

/** Decimal units (what file managers show), one decimal from MB up. */
fun bytesText(bytes: Long, locale: Locale = Locale.getDefault()): String = when {
    bytes < 1_000 -> "$bytes B"
    bytes < 1_000_000 -> "${(bytes + 500) / 1_000} kB"
    bytes < 1_000_000_000 -> String.format(locale, "%.1f MB", bytes / 1e6)
    else -> String.format(locale, "%.1f GB", bytes / 1e9)
}

/** Rounded the way people say it: no false precision on a loading screen. */
fun etaText(secs: Long): String = when {
    secs < 60 -> "Less than a minute left"
    secs < 90 -> "About 1 minute left"
    secs < 3600 -> "About ${(secs + 30) / 60} minutes left"
    else -> {
        val mins = (secs + 30) / 60
        val h = mins / 60
        val m = mins % 60
        if (m == 0L) "About $h h left" else "About $h h $m min left"
    }
}
