// Every state of the shared composables rendered to PNG and compared with
// its golden image: the six icons, the sheet a tap on each opens, the
// loading screen at 0 %, mid-way, paused offline and complete, the errors
// list. Two tests render a deliberately altered state and check that the
// comparison fails, so a golden test here can fail.
package dev.mooring.desktop

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.performClick
import androidx.compose.ui.unit.dp
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncStatus
import dev.mooring.ui.InitialSyncScreen
import dev.mooring.ui.SyncErrorsList
import dev.mooring.ui.SyncStatusIcon
import dev.mooring.ui.model.iconModel
import java.io.File
import java.time.ZoneOffset
import java.util.Locale
import javax.imageio.ImageIO
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory

private fun icon(status: SyncStatus) = render(72, 72) {
    Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { SyncStatusIcon(status) }
}

/** The icon in a phone-sized scene, tapped: the sheet over it. */
private fun sheet(status: SyncStatus) = render(360, 480, act = {
    onNodeWithContentDescription(status.iconModel().contentDescription).performClick()
}) {
    Box(Modifier.fillMaxSize().padding(8.dp), contentAlignment = Alignment.TopEnd) { SyncStatusIcon(status, onShowErrors = {}) }
}

private fun loading(status: SyncStatus) = render(360, 480) { InitialSyncScreen(status, onRetry = {}, locale = Locale.US) }

class GoldenTests {
    @TestFactory
    fun icons() = iconStates.map { (name, s) -> DynamicTest.dynamicTest("icon $name") { assertMatchesGolden("icon-$name", icon(s)) } }

    @TestFactory
    fun sheets() = iconStates.map { (name, s) -> DynamicTest.dynamicTest("sheet $name") { assertMatchesGolden("sheet-$name", sheet(s)) } }

    @TestFactory
    fun loadingScreen() = loadingStates.map { (name, s) -> DynamicTest.dynamicTest(name) { assertMatchesGolden(name, loading(s)) } }

    @Test
    fun errorsList() = assertMatchesGolden(
        "errors-list",
        render(360, 480) { SyncErrorsList(syncErrors, onRetry = {}, onDiscard = {}, zone = ZoneOffset.UTC, locale = Locale.US) },
    )

    @Test
    fun rendersAreDeterministic() {
        // Two renders of the same state in one JVM are the same pixels: the
        // tolerance is for other machines, not for noise here.
        val s = loadingStates.getValue("loading-mid")
        val d = diff(loading(s), loading(s))
        assertTrue(d.sameSize && d.differing == 0, "$d")
    }

    @Test
    fun aChangedIconFailsItsGolden() {
        // The connected state drawn with the pending-upload icon (another vector).
        val altered = iconStates.getValue("connected").copy(icon = SyncIcon.PENDING_UPLOAD)
        val d = diff(icon(altered), golden("icon-connected"))
        savePng(icon(altered), File(renderDir, "altered-icon-connected.png"))
        println("altered icon vs icon-connected: $d")
        assertFalse(d.matches, "an altered icon must not match the golden: $d")
    }

    @Test
    fun aChangedLabelFailsItsGolden() {
        // One word of the sheet's title changed.
        val altered = iconStates.getValue("connected").copy(title = "Up to dote")
        val image = sheet(altered)
        savePng(image, File(renderDir, "altered-sheet-connected.png"))
        val d = diff(image, golden("sheet-connected"))
        println("altered label vs sheet-connected: $d")
        assertFalse(d.matches, "an altered label must not match the golden: $d")
    }

    private fun golden(name: String) = ImageIO.read(File(goldenDir, "$name.png")).argb()
}
