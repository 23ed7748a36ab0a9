// The sync status icon for a top app bar: six states, each its own Material
// icon and content description (from the pure model, SyncStatusUi.kt); a tap
// opens a dialog with the core's title and description.
package dev.mooring.ui

import androidx.compose.animation.core.LinearEasing
import androidx.compose.animation.core.RepeatMode
import androidx.compose.animation.core.animateFloat
import androidx.compose.animation.core.infiniteRepeatable
import androidx.compose.animation.core.rememberInfiniteTransition
import androidx.compose.animation.core.tween
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
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.draw.rotate
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.graphics.vector.ImageVector
import dev.mooring.Mooring
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncStatus
import dev.mooring.ui.model.iconModel
import kotlinx.coroutines.flow.conflate

/** Collects [mooring]'s status while composed (the Rust listener goes when it leaves). */
@Composable
fun SyncStatusIcon(mooring: Mooring, modifier: Modifier = Modifier) {
    val flow = remember(mooring) { mooring.status.conflate() }
    val status by flow.collectAsState(initial = remember(mooring) { mooring.currentStatus })
    SyncStatusIcon(status, modifier)
}

@Composable
fun SyncStatusIcon(status: SyncStatus, modifier: Modifier = Modifier) {
    val model = remember(status) { status.iconModel() }
    var open by rememberSaveable { mutableStateOf(false) }
    IconButton(onClick = { open = true }, modifier = modifier) {
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
        AlertDialog(
            onDismissRequest = { open = false },
            icon = { Icon(model.icon.vector(), contentDescription = null, tint = model.icon.tint()) },
            title = { Text(model.title) },
            text = { Text(model.description) },
            confirmButton = { TextButton(onClick = { open = false }) { Text("OK") } },
        )
    }
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
private fun SyncIcon.tint(): Color = when (this) {
    SyncIcon.ERROR -> MaterialTheme.colorScheme.error
    SyncIcon.WARNING -> Color(0xFFB26A00) // amber that passes contrast on light surfaces
    else -> MaterialTheme.colorScheme.onSurface
}
