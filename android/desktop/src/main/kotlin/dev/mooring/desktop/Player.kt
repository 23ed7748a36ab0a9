// The desktop player: the Android sample's screens (SampleScreens.kt: the
// loading screen on first launch, then the accounts list with the status icon
// in the top bar) in a desktop window, over the same Kotlin API layer and the
// real Rust library, against the emulator. A strip above them stands for the
// phone's network: the switch plays airplane mode (Network.kt).
//
//   scripts/desktop            starts the emulator and this window
//   java ... dev.mooring.desktop.PlayerKt --server URL --token T [--data-dir DIR] [--page-size N] [--first-sync-latency-ms MS]
package dev.mooring.desktop

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.width
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.awt.ComposeWindow
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import dev.mooring.Mooring
import dev.mooring.MooringOptions
import dev.mooring.OfflineProfile
import dev.mooring.sample.SAMPLE_PROFILE
import dev.mooring.sample.SampleRoot
import java.awt.Dimension
import java.awt.event.WindowAdapter
import java.awt.event.WindowEvent
import java.io.File
import java.nio.file.Files
import javax.swing.SwingUtilities
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.swing.Swing

data class PlayerArgs(
    val server: String,
    val token: String,
    val dataDir: File,
    /** Rows per page of the first sync: smaller pages make the loading screen move in visible steps. */
    val pageSize: Int? = null,
    /** Delay the emulator's answers until the first sync is done, so a person sees the loading screen move. */
    val firstSyncLatencyMs: Long = 0,
) {
    companion object {
        fun parse(args: Array<String>): PlayerArgs {
            val m = args.toList().chunked(2).associate { (k, v) -> k.removePrefix("--") to v }
            val known = setOf("server", "token", "data-dir", "page-size", "first-sync-latency-ms")
            require(args.size % 2 == 0 && m.keys.all { it in known }) {
                "usage: --server URL --token T [--data-dir DIR] [--page-size N] [--first-sync-latency-ms MS]"
            }
            return PlayerArgs(
                server = m["server"] ?: error("--server URL is required (the emulator's root, http://127.0.0.1:PORT)"),
                token = m["token"] ?: "dev-token",
                dataDir = m["data-dir"]?.let(::File) ?: Files.createTempDirectory("mooring-player-").toFile(),
                pageSize = m["page-size"]?.toInt(),
                firstSyncLatencyMs = m["first-sync-latency-ms"]?.toLong() ?: 0,
            )
        }
    }
}

/** Opens the mirror (in clear: a dev tool over sample data) and starts syncing. */
suspend fun openPlayerMooring(a: PlayerArgs): Mooring = Mooring.open(
    serverUrl = a.server,
    dataDir = a.dataDir,
    account = "dev-user",
    profile = OfflineProfile.profile(SAMPLE_PROFILE),
    tokens = { a.token },
    encryptionKey = null,
    // Probe every few seconds, so the icon follows the network switch at a player's pace.
    options = MooringOptions(pageSize = a.pageSize, probeInterval = 5.seconds, uploadDebounce = 1.seconds),
)

/** The window's content: the network strip, then the sample's screens. */
@Composable
fun PlayerContent(mooring: Mooring, network: NetworkSwitch, serverLabel: String) {
    val state by network.state.collectAsState()
    Column(Modifier.fillMaxSize()) {
        Surface(color = MaterialTheme.colorScheme.surfaceVariant) {
            Row(Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 4.dp), verticalAlignment = Alignment.CenterVertically) {
                Text("Emulator $serverLabel", style = MaterialTheme.typography.labelMedium, modifier = Modifier.weight(1f))
                Text(
                    when (state) {
                        NetworkState.ONLINE -> "Online"
                        NetworkState.GOING_OFFLINE -> "Going offline…"
                        NetworkState.OFFLINE -> "Offline"
                        NetworkState.GOING_ONLINE -> "Reconnecting…"
                    },
                    style = MaterialTheme.typography.labelLarge,
                )
                Spacer(Modifier.width(8.dp))
                Switch(
                    checked = state == NetworkState.ONLINE || state == NetworkState.GOING_OFFLINE,
                    onCheckedChange = { network.toggle() },
                    enabled = state == NetworkState.ONLINE || state == NetworkState.OFFLINE,
                    modifier = Modifier.semantics { contentDescription = "Network" },
                )
            }
        }
        HorizontalDivider()
        Box(Modifier.weight(1f)) { SampleRoot(mooring) }
    }
}

/**
 * Opens the player's window on the AWT thread and returns it; closing it
 * closes [mooring] and calls [onClosed]. The Xvfb test calls this in its own
 * JVM, as main does.
 */
fun openPlayerWindow(mooring: Mooring, admin: EmulatorAdmin, serverLabel: String, onClosed: () -> Unit): ComposeWindow {
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Swing)
    val network = NetworkSwitch(mooring, admin, scope)
    lateinit var window: ComposeWindow
    SwingUtilities.invokeAndWait {
        window = ComposeWindow()
        window.title = "Mooring player"
        // A phone-shaped window (logical pixels = dp at scale 1).
        window.size = Dimension(420, 760)
        window.setLocation(0, 0)
        window.setContent { DesktopTheme { Surface { PlayerContent(mooring, network, serverLabel) } } }
        window.addWindowListener(object : WindowAdapter() {
            override fun windowClosed(e: WindowEvent) {
                scope.cancel() // the network switch's re-arming ends with the window
                mooring.close()
                onClosed()
            }
        })
        window.defaultCloseOperation = javax.swing.WindowConstants.DISPOSE_ON_CLOSE
        window.isVisible = true
    }
    return window
}

fun main(args: Array<String>) {
    val a = PlayerArgs.parse(args)
    Mooring.initLogging(System.getenv("MOORING_LOG") ?: "warn")
    val admin = EmulatorAdmin(a.server, a.token)
    if (a.firstSyncLatencyMs > 0) admin.latency(a.firstSyncLatencyMs)
    val mooring = runBlocking { openPlayerMooring(a) }
    println("player: mirror in ${a.dataDir}")
    if (a.firstSyncLatencyMs > 0) {
        CoroutineScope(Dispatchers.IO).launch {
            mooring.status.first { it.initialSyncComplete }
            admin.latency(0)
        }
    }
    // exitProcess: the Rust runtime's threads must not keep the JVM alive.
    openPlayerWindow(mooring, admin, a.server.removePrefix("http://")) { exitProcess(0) }
}
