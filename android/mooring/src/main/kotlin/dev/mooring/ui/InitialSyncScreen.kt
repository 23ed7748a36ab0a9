// The first-launch loading screen: rows, tables and bytes downloaded, a
// determinate bar, the ETA, the paused case (started, then offline: the bar
// stays, "Paused" says why it does not move) and the "first sync needs a
// connection" case. What it shows comes from the pure model
// (SyncStatusUi.kt, JVM-tested).
// Shared: no android.* import, compiled for Android and the desktop JVM.
package dev.mooring.ui

import androidx.compose.animation.core.animateFloatAsState
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.CloudOff
import androidx.compose.material3.Button
import androidx.compose.material3.Icon
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.remember
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.style.TextAlign
import androidx.compose.ui.unit.dp
import dev.mooring.ffi.SyncStatus
import dev.mooring.ui.model.initialSyncModel
import java.util.Locale

/** [onRetry]: shown when the first sync cannot run ("Try again" calls syncNow/requestSync). */
@Composable
fun InitialSyncScreen(
    status: SyncStatus,
    modifier: Modifier = Modifier,
    onRetry: (() -> Unit)? = null,
    locale: Locale = Locale.getDefault(),
) {
    val m = remember(status, locale) { status.initialSyncModel(locale) }
    Column(
        modifier = modifier.fillMaxSize().padding(24.dp),
        verticalArrangement = Arrangement.Center,
        horizontalAlignment = Alignment.CenterHorizontally,
    ) {
        if (m.needsConnection || m.paused) {
            Icon(Icons.Filled.CloudOff, contentDescription = null, modifier = Modifier.size(48.dp))
            Spacer(Modifier.height(16.dp))
        }
        Text(m.title, style = MaterialTheme.typography.headlineSmall, textAlign = TextAlign.Center)
        // The core's description says why the download stands still (offline,
        // paused); while it runs, the counts below say the same in figures.
        if (!m.running || m.rowsText == null) {
            Spacer(Modifier.height(8.dp))
            Text(
                m.description,
                style = MaterialTheme.typography.bodyMedium,
                textAlign = TextAlign.Center,
                modifier = Modifier.semantics { liveRegion = LiveRegionMode.Polite },
            )
        }
        if (m.needsConnection) {
            onRetry?.let {
                Spacer(Modifier.height(24.dp))
                Button(onClick = it) { Text("Try again") }
            }
            return@Column
        }
        Spacer(Modifier.height(24.dp))
        val fraction by animateFloatAsState(m.fraction, label = "initial-sync")
        val percent = (m.fraction * 100).toInt()
        LinearProgressIndicator(
            progress = { fraction },
            modifier = Modifier.fillMaxWidth().semantics {
                contentDescription = if (m.paused) "Download paused at $percent %" else "Downloaded $percent %"
            },
        )
        Spacer(Modifier.height(12.dp))
        if (m.paused) Text("Paused", style = MaterialTheme.typography.labelLarge, color = MaterialTheme.colorScheme.primary)
        m.rowsText?.let { Text(it, style = MaterialTheme.typography.bodyLarge) }
        m.tablesText?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
        m.bytesText?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
        m.etaText?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
    }
}
