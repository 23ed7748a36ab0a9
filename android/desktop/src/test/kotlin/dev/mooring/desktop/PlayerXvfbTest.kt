// The desktop player in a real window on the X display (Xvfb, started by
// scripts/test-ui), against the emulator, driven like a person would: the
// first launch's loading screen, the synced accounts list, the network
// switched off, a row edited offline, the network back on and the change on
// the server. Each step is a screenshot under the build folder; each step
// asserts on what the window shows: the status icon's state through the
// accessibility tree (Compose's semantics), and at two steps the top bar's
// pixels against a golden image (Golden.kt's tolerance).
package dev.mooring.desktop

import dev.mooring.ffi.Query
import dev.mooring.ffi.SortKey
import dev.mooring.text
import java.awt.Rectangle
import java.awt.event.KeyEvent
import java.io.File
import java.nio.file.Files
import javax.swing.SwingUtilities
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test

private const val UP_TO_DATE = "Sync status: up to date"
private const val NOT_CONNECTED = "Sync status: not connected"
private const val PENDING_ONE = "Sync status: changes waiting to upload (1)"

class PlayerXvfbTest {
    private val shots = File(renderDir, "player").also { dir -> dir.listFiles()?.forEach { it.delete() } }

    @Test
    fun initialSyncOfflineEditOnline() {
        checkNotNull(System.getenv("DISPLAY")) { "no DISPLAY: scripts/test-ui runs this under Xvfb" }
        DevServer(seedRows = 2_000).use { server ->
            // Slow answers and small pages for the first sync, so the loading screen is on screen long enough to see.
            server.admin.latency(250)
            val args = PlayerArgs(server.rootUrl, server.token, Files.createTempDirectory("mooring-player-test-").toFile(), pageSize = 100)
            val mooring = runBlocking { openPlayerMooring(args) }
            // The strip shows no port: the pixels must not depend on which port the emulator got.
            val window = openPlayerWindow(mooring, server.admin, "on loopback") {}
            try {
                val d = WindowDriver(window, shots)

                // 1. First launch: the loading screen, mid-way.
                d.await("the loading screen's bar mid-way") { n ->
                    n.description?.let { Regex("Downloaded (\\d+) %").matchEntire(it) }?.groupValues?.get(1)?.toInt() in 5..90
                }
                d.screenshot("loading")
                // The picture must be of the loading screen: the first sync was still running after it was taken.
                assertTrue(!mooring.currentStatus.initialSyncComplete, "the first sync ended before the screenshot (too fast to see)")
                server.admin.latency(0)

                // 2. Synced: the accounts list, the icon says up to date. The rows are read
                // once the first sync is done: before it, the mirror may not hold them yet.
                val icon = d.await("the up-to-date icon", 30_000) { it.description == UP_TO_DATE }
                // The row to edit: near the top of the list (on screen), with a name no other row has
                // (the seeded names repeat), so the row found on screen is this one.
                val all = runBlocking { mooring.query(Query("accounts", emptyList(), listOf(SortKey("name", false)), null, null)) }
                val counts = all.groupingBy { it.text("name") }.eachCount()
                val first = all.take(8).first { counts[it.text("name")] == 1 }
                val name = first.text("name")!!
                val id = first.text("accountid")!!
                val oldPhone = checkNotNull(first.text("telephone1")) { "seeded accounts have a phone number" }
                d.await("the first account in the list") { it.name == name }
                Thread.sleep(300) // ripple-free, settled frame
                assertBarMatches(d, "player-bar-connected", d.screenshot("synced"), icon.bounds!!)

                // 3. Offline: the network switch; the icon says not connected.
                d.click(d.await("the network switch") { it.description == "Network" })
                d.await("the not-connected icon") { it.description == NOT_CONNECTED }
                d.await("the strip saying offline") { it.name == "Offline" }
                d.screenshot("offline")

                // 4. Edit the first row offline: its phone number.
                d.click(d.await("the row of $name") { it.name == name })
                d.await("the edit dialog") { it.name == "Edit account" }
                // The field's accessible name is its text (its label is not exposed on the desktop).
                val phoneField = d.await("the phone field") { it.name == oldPhone }
                d.click(phoneField)
                d.key(KeyEvent.VK_A, KeyEvent.VK_CONTROL)
                d.type("555-0199")
                d.screenshot("editing")
                d.click(d.await("the save button") { it.name == "Save" })
                val pending = d.await("the pending-upload icon") { it.description == PENDING_ONE }
                // The list shows the mirror's row (its phone line is no node of its own in the tree).
                assertEquals("555-0199", runBlocking { mooring.get("accounts", id) }?.text("telephone1"), "the row in the mirror")
                Thread.sleep(300)
                assertBarMatches(d, "player-bar-pending", d.screenshot("edited-offline"), pending.bounds!!)

                // 5. Online again: the change uploads, the icon goes back to up to date.
                d.click(d.await("the network switch") { it.description == "Network" })
                d.await("the up-to-date icon after reconnecting", 40_000) { it.description == UP_TO_DATE }
                d.screenshot("online")
                val onServer = server.serverRow("accounts", id)
                assertTrue(onServer != null && onServer.contains("555-0199"), "the server's row: $onServer")
            } finally {
                SwingUtilities.invokeAndWait { window.dispose() } // closes the Mooring too
                args.dataDir.deleteRecursively()
            }
        }
    }

    /** The top bar (title and status icon, the full window width) against its golden. */
    private fun assertBarMatches(d: WindowDriver, golden: String, shot: java.awt.image.BufferedImage, icon: Rectangle) {
        val origin = d.windowOrigin()
        val bar = Rectangle(origin.x, icon.y - 8, shot.width, icon.height + 16)
        assertMatchesGolden(golden, shot.crop(bar, origin))
    }
}
