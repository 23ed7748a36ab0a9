// The sync-errors list: changes the server refused, each with Retry (queue
// it again) and Discard (keep the server's row). What each row says comes
// from the pure model (SyncErrorsUi.kt).
// Shared: no android.* import, compiled for Android and the desktop JVM.
package dev.mooring.ui

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import dev.mooring.Mooring
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.SyncErrorInfo
import dev.mooring.ui.model.errorModel
import java.time.ZoneId
import java.util.Locale
import kotlinx.coroutines.launch

/** The list, stateless: [onRetry]/[onDiscard] get the error's id. */
@Composable
fun SyncErrorsList(
    errors: List<SyncErrorInfo>,
    onRetry: (Long) -> Unit,
    onDiscard: (Long) -> Unit,
    modifier: Modifier = Modifier,
    zone: ZoneId = ZoneId.systemDefault(),
    locale: Locale = Locale.getDefault(),
) {
    if (errors.isEmpty()) {
        Box(modifier.fillMaxWidth().padding(24.dp), contentAlignment = Alignment.Center) {
            Text("No sync errors", style = MaterialTheme.typography.bodyLarge)
        }
        return
    }
    LazyColumn(modifier) {
        items(errors, key = { it.id }) { e ->
            val m = remember(e, zone, locale) { e.errorModel(zone, locale) }
            ListItem(
                headlineContent = { Text(m.title) },
                supportingContent = {
                    Column {
                        Text(m.message)
                        Text(m.detail, style = MaterialTheme.typography.bodySmall, color = MaterialTheme.colorScheme.onSurfaceVariant)
                    }
                },
            )
            Row(Modifier.fillMaxWidth().padding(start = 16.dp, end = 16.dp, bottom = 8.dp)) {
                OutlinedButton(onClick = { onRetry(m.id) }, modifier = Modifier.semantics { contentDescription = m.retryDescription }) {
                    Text("Retry")
                }
                TextButton(
                    onClick = { onDiscard(m.id) },
                    modifier = Modifier.padding(start = 8.dp).semantics { contentDescription = m.discardDescription },
                ) {
                    Text("Discard")
                }
            }
            HorizontalDivider()
        }
    }
}

/**
 * The list over [mooring]: reloads when the status's error count changes and
 * after each retry/discard. A closed instance shows an empty list.
 */
@Composable
fun SyncErrorsList(mooring: Mooring, modifier: Modifier = Modifier) {
    val status by mooring.statusAsState()
    var errors by remember(mooring) { mutableStateOf(emptyList<SyncErrorInfo>()) }
    var reloads by remember(mooring) { mutableStateOf(0) }
    val scope = rememberCoroutineScope()
    suspend fun load() {
        errors = try {
            mooring.syncErrors()
        } catch (closed: MooringException.Closed) {
            emptyList()
        }
    }
    LaunchedEffect(mooring, status?.syncErrors, reloads) { load() }
    fun act(block: suspend () -> Unit) = scope.launch {
        try {
            block()
        } catch (refused: MooringException) {
            // The row stays in the list (the reload shows what is left); nothing to add here.
        }
        reloads++
    }
    SyncErrorsList(
        errors,
        onRetry = { id -> act { mooring.retrySyncError(id) } },
        onDiscard = { id -> act { mooring.discardSyncError(id) } },
        modifier = modifier,
    )
}
