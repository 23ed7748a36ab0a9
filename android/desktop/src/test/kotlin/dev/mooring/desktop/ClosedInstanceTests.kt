// Issue 13, defect 8: the status icon read `currentStatus` while composing,
// which throws MooringException.Closed once the instance is closed or signed
// out, so a recomposition after close() or signOut() crashed the screen. Now
// the status is collected as state: a closed instance shows no icon and
// throws nothing. Against the real Rust library and the emulator.
package dev.mooring.desktop

import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.setValue
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.hasContentDescription
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.runComposeUiTest
import dev.mooring.Mooring
import dev.mooring.OfflineProfile
import dev.mooring.ffi.MooringException
import dev.mooring.sample.SAMPLE_PROFILE
import dev.mooring.sample.SampleRoot
import dev.mooring.ui.SyncStatusIcon
import java.nio.file.Files
import kotlin.test.assertFailsWith
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance

private const val UP_TO_DATE = "Sync status: up to date"

@OptIn(ExperimentalTestApi::class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClosedInstanceTests {
    private lateinit var server: DevServer

    @BeforeAll
    fun start() {
        Mooring.initLogging(System.getenv("MOORING_LOG") ?: "warn")
        server = DevServer(seedRows = 30)
    }

    private val dirs = mutableListOf<java.io.File>()

    @AfterAll
    fun stop() {
        server.close()
        dirs.forEach { it.deleteRecursively() }
    }

    private fun synced(): Mooring = runBlocking {
        val m = Mooring.open(
            serverUrl = server.rootUrl,
            dataDir = Files.createTempDirectory("mooring-ui-closed-").toFile().also { dirs += it },
            account = "dev-user",
            profile = OfflineProfile.profile(SAMPLE_PROFILE),
            tokens = { server.token },
            encryptionKey = null,
        )
        withTimeout(30_000) { m.status.first { it.initialSyncComplete } }
        m
    }

    @Test
    fun theIconLeavesWhenItsInstanceCloses() = runComposeUiTest {
        val m = synced()
        var generation by mutableStateOf(0)
        setContent {
            DesktopTheme {
                // Reading `generation` makes the icon's host recompose on demand, after close.
                generation.let { SyncStatusIcon(m) }
            }
        }
        waitUntil(timeoutMillis = 10_000) { onAllNodes(hasContentDescription(UP_TO_DATE)).fetchSemanticsNodes().isNotEmpty() }
        runOnIdle { m.close() }
        // The trap the old code fell into is real: this read throws now.
        assertFailsWith<MooringException.Closed> { m.currentStatus }
        generation++ // a recomposition after close(): threw Closed before the fix
        waitUntil(timeoutMillis = 10_000) { onAllNodes(hasContentDescription(UP_TO_DATE)).fetchSemanticsNodes().isEmpty() }
    }

    @Test
    fun anInstanceClosedBeforeCompositionDrawsNothing() = runComposeUiTest {
        val m = synced()
        m.close()
        setContent { DesktopTheme { SyncStatusIcon(m); SampleRoot(m) } }
        waitForIdle()
        assertFailsWith<AssertionError> { onNode(hasContentDescription(UP_TO_DATE)).assertExists() }
        onNodeWithText("Signed out").assertExists()
    }

    @Test
    fun signOutWhileShownEndsTheIcon() = runComposeUiTest {
        val m = synced()
        setContent { DesktopTheme { SampleRoot(m) } }
        waitUntil(timeoutMillis = 10_000) { onAllNodes(hasContentDescription(UP_TO_DATE)).fetchSemanticsNodes().isNotEmpty() }
        runBlocking { m.signOut(discardPending = true) }
        waitUntil(timeoutMillis = 10_000) { onAllNodes(androidx.compose.ui.test.hasText("Signed out")).fetchSemanticsNodes().isNotEmpty() }
        assertFailsWith<AssertionError> { onNode(hasContentDescription(UP_TO_DATE)).assertExists() }
    }
}
