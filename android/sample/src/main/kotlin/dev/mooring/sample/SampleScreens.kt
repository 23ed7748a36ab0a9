// The sample's screens: the loading screen until the first sync completes,
// then the accounts list (create, edit, delete) with the status icon in the
// top bar and the sync-errors list behind its sheet. Writes go to the mirror
// at once and upload when the server is reachable.
// Shared: no android.* import. The Android app (MainActivity) and the desktop
// player (android/desktop, scripts/desktop) are thin hosts around SampleRoot.
package dev.mooring.sample

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.Delete
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FloatingActionButton
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.ListItem
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import dev.mooring.Mooring
import dev.mooring.Row
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.Query
import dev.mooring.ffi.SortKey
import dev.mooring.text
import dev.mooring.ui.InitialSyncScreen
import dev.mooring.ui.SyncErrorsList
import dev.mooring.ui.SyncStatusIcon
import dev.mooring.ui.statusAsState
import kotlinx.coroutines.launch

/** What the sample keeps offline: the accounts, three columns (docs/profile.md). */
const val SAMPLE_PROFILE = """{"tables":[
  {"name":"accounts","columns":["name","telephone1","address1_city"],"rows":"all"}]}"""

/** The whole sample UI over one open [mooring]. A closed instance (signed out) shows [closed]. */
@Composable
fun SampleRoot(mooring: Mooring, closed: @Composable () -> Unit = { Text("Signed out") }) {
    val status = mooring.statusAsState().value ?: return closed()
    if (!status.initialSyncComplete) {
        val scope = rememberCoroutineScope()
        InitialSyncScreen(status, onRetry = { scope.launch { runCatching { mooring.syncNow() } } })
    } else {
        Accounts(mooring)
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun Accounts(mooring: Mooring) {
    val query = remember { Query("accounts", emptyList(), listOf(SortKey("name", false)), null, null) }
    val rowsFlow = remember(mooring) { mooring.watch(query) }
    // collectAsState, not ...WithLifecycle: the desktop has no LifecycleOwner in
    // every host (tests), and on Android SampleApp pauses sync in the background.
    val rows by rowsFlow.collectAsState(initial = emptyList())
    var editing by remember { mutableStateOf<Row?>(null) }
    var creating by remember { mutableStateOf(false) }
    var showErrors by remember { mutableStateOf(false) }
    val snackbar = remember { SnackbarHostState() }
    val scope = rememberCoroutineScope()
    fun act(block: suspend () -> Unit) = scope.launch {
        try {
            block()
        } catch (e: MooringException) {
            snackbar.showSnackbar(if (e is MooringException.Validation) "Check ${e.field ?: "the values"}" else "Not saved: ${e::class.simpleName}")
        }
    }

    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text("Accounts") },
                actions = { SyncStatusIcon(mooring, onShowErrors = { showErrors = true }) },
            )
        },
        floatingActionButton = {
            FloatingActionButton(onClick = { creating = true }) { Icon(Icons.Filled.Add, contentDescription = "New account") }
        },
        snackbarHost = { SnackbarHost(snackbar) },
    ) { padding ->
        LazyColumn(Modifier.padding(padding)) {
            items(rows, key = { it.text("accountid")!! }) { row ->
                val name = row.text("name") ?: "(no name)"
                ListItem(
                    headlineContent = { Text(name) },
                    supportingContent = { row.text("telephone1")?.let { Text(it) } },
                    trailingContent = {
                        IconButton(onClick = { act { mooring.delete("accounts", row.text("accountid")!!) } }) {
                            Icon(Icons.Filled.Delete, contentDescription = "Delete $name")
                        }
                    },
                    modifier = Modifier.clickable(onClickLabel = "Edit $name") { editing = row },
                )
                HorizontalDivider()
            }
        }
    }

    if (creating || editing != null) {
        val row = editing
        AccountDialog(
            initialName = row?.text("name").orEmpty(),
            initialPhone = row?.text("telephone1").orEmpty(),
            onDismiss = { creating = false; editing = null },
            onSave = { name, phone ->
                creating = false
                editing = null
                val values = mapOf("name" to name, "telephone1" to phone.ifBlank { null })
                act {
                    if (row == null) mooring.create("accounts", values) else mooring.update("accounts", row.text("accountid")!!, values)
                }
            },
        )
    }
    if (showErrors) {
        AlertDialog(
            onDismissRequest = { showErrors = false },
            title = { Text("Sync errors") },
            text = { SyncErrorsList(mooring, Modifier.fillMaxWidth().heightIn(max = 400.dp)) },
            confirmButton = { TextButton(onClick = { showErrors = false }) { Text("Close") } },
        )
    }
}

@Composable
private fun AccountDialog(initialName: String, initialPhone: String, onDismiss: () -> Unit, onSave: (String, String) -> Unit) {
    var name by remember { mutableStateOf(initialName) }
    var phone by remember { mutableStateOf(initialPhone) }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(if (initialName.isEmpty()) "New account" else "Edit account") },
        text = {
            Column {
                OutlinedTextField(name, { name = it }, label = { Text("Name") }, singleLine = true)
                OutlinedTextField(phone, { phone = it }, label = { Text("Phone") }, singleLine = true)
            }
        },
        confirmButton = { TextButton(onClick = { onSave(name.trim(), phone.trim()) }, enabled = name.isNotBlank()) { Text("Save") } },
        dismissButton = { TextButton(onClick = onDismiss) { Text("Cancel") } },
    )
}
