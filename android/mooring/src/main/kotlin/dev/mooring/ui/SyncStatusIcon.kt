// The sync status icon for a top app bar: six states, each its own Material
// icon and content description (from the pure model, SyncStatusUi.kt); a tap
// opens a sheet with the core's title and description.
// Shared: no android.* import, compiled for Android (android/mooring) and for
// the desktop JVM (android/desktop, scripts/test-ui renders every state).
package dev.mooring.ui

import androidx.compose.animation.core.LinearEasing
import androidx.compose.animation.core.RepeatMode
import androidx.compose.animation.core.animateFloat
import androidx.compose.animation.core.infiniteRepeatable
import androidx.compose.animation.core.rememberInfiniteTransition
import androidx.compose.animation.core.tween
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.sizeIn
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.CloudDone
import androidx.compose.material.icons.filled.CloudOff
import androidx.compose.material.icons.filled.CloudUpload
import androidx.compose.material.icons.filled.Sync
import androidx.compose.material.icons.filled.SyncProblem
import androidx.compose.material.icons.filled.Warning
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Badge
import androidx.compose.material3.BadgedBox
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.remember
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.draw.rotate
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.vector.ImageVector
import androidx.compose.ui.unit.dp
import dev.mooring.Mooring
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncStatus
import dev.mooring.ui.model.StatusIconModel
import dev.mooring.ui.model.iconModel

/**
 * Collects [mooring]'s status as state while composed (the Rust listener goes
 * when it leaves). A closed instance (after `close()` or `signOut()`) has no
 * status: nothing is drawn, nothing throws (see [statusAsState]).
 * [onShowErrors]: the sheet of the error icon offers "Review" when given.
 */
@Composable
fun SyncStatusIcon(mooring: Mooring, modifier: Modifier = Modifier, onShowErrors: (() -> Unit)? = null) {
    val status by mooring.statusAsState()
    status?.let {
        SyncStatusIcon(it, modifier, onShowErrors, pendingSummary = {
            // A closed instance has nothing waiting to explain.
            runCatching { mooring.pendingSummary() }.getOrNull()
        })
    }
}

/**
 * [initiallyOpen]: the sheet shows without a tap (previews, the golden images).
 * [pendingSummary]: asked each time the sheet opens while changes wait ("3 changes
 * waiting for 2 h: no connection"), shown under the description.
 */
@Composable
fun SyncStatusIcon(
    status: SyncStatus,
    modifier: Modifier = Modifier,
    onShowErrors: (() -> Unit)? = null,
    initiallyOpen: Boolean = false,
    pendingSummary: (suspend () -> String?)? = null,
) {
    val model = status.iconModel()
    var open by rememberSaveable { mutableStateOf(initiallyOpen) }
    // 48 dp: the touch target Material and the accessibility guidelines ask for,
    // whatever IconButton's own default is in a given Compose version.
    IconButton(onClick = { open = true }, modifier = modifier.sizeIn(minWidth = 48.dp, minHeight = 48.dp)) {
        BadgedBox(badge = { model.badge?.let { Badge { Text(it) } } }) {
            val angle = if (model.animated) {
                val spin = rememberInfiniteTransition(label = "sync")
                spin.animateFloat(0f, -360f, infiniteRepeatable(tween(1200, easing = LinearEasing), RepeatMode.Restart), label = "angle").value
            } else {
                0f
            }
            Icon(
                imageVector = model.icon.vector(),
                contentDescription = model.contentDescription,
                tint = model.icon.tint(),
                modifier = Modifier.rotate(angle),
            )
        }
    }
    if (open) {
        var summary by remember { mutableStateOf<String?>(null) }
        if (pendingSummary != null && status.pendingChanges > 0uL) {
            LaunchedEffect(status.pendingChanges) { summary = pendingSummary() }
        }
        SyncStatusSheet(
            model,
            onDismiss = { open = false },
            onShowErrors = onShowErrors?.takeIf { status.syncErrors > 0uL }?.let { show -> { open = false; show() } },
            detail = summary?.takeIf { status.pendingChanges > 0uL },
        )
    }
}

/**
 * What a tap on the icon shows: the icon again, the core's title and description,
 * and [detail] under it (what waits in the outbox, and why) when given.
 */
@Composable
fun SyncStatusSheet(
    model: StatusIconModel,
    onDismiss: () -> Unit,
    onShowErrors: (() -> Unit)? = null,
    detail: String? = null,
) {
    AlertDialog(
        onDismissRequest = onDismiss,
        icon = { Icon(model.icon.vector(), contentDescription = null, tint = model.icon.tint()) },
        title = { Text(model.title) },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text(model.description)
                detail?.let { Text(it, style = MaterialTheme.typography.bodySmall) }
            }
        },
        confirmButton = { TextButton(onClick = onDismiss) { Text("OK") } },
        dismissButton = onShowErrors?.let { show -> { TextButton(onClick = show) { Text("Review") } } },
    )
}

fun SyncIcon.vector(): ImageVector = when (this) {
    SyncIcon.CONNECTED -> Icons.Filled.CloudDone
    SyncIcon.NOT_CONNECTED -> Icons.Filled.CloudOff
    SyncIcon.SYNCING -> Icons.Filled.Sync
    SyncIcon.PENDING_UPLOAD -> Icons.Filled.CloudUpload
    SyncIcon.ERROR -> Icons.Filled.SyncProblem
    SyncIcon.WARNING -> Icons.Filled.Warning
}

@Composable
internal fun SyncIcon.tint(): Color = when (this) {
    SyncIcon.ERROR -> MaterialTheme.colorScheme.error
    SyncIcon.WARNING -> Color(0xFFB26A00) // amber that passes contrast on light surfaces
    else -> MaterialTheme.colorScheme.onSurface
}
