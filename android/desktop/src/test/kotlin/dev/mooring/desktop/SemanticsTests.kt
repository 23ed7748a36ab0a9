// What a screen reader and a finger get, read from Compose's semantics tree:
// every icon has its own content description and a tap target of at least
// 48 dp; a tap opens the sheet with the core's texts; the errors list's
// buttons act on the right error; the loading screen's bar reports progress.
package dev.mooring.desktop

import androidx.compose.ui.semantics.SemanticsProperties
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.assertHasClickAction
import androidx.compose.ui.test.assertHeightIsAtLeast
import androidx.compose.ui.test.assertWidthIsAtLeast
import androidx.compose.ui.test.onNodeWithContentDescription
import androidx.compose.ui.test.onNodeWithText
import androidx.compose.ui.test.performClick
import androidx.compose.ui.test.runComposeUiTest
import androidx.compose.ui.unit.dp
import dev.mooring.ffi.SyncIcon
import dev.mooring.ui.InitialSyncScreen
import dev.mooring.ui.SyncErrorsList
import dev.mooring.ui.SyncStatusIcon
import dev.mooring.ui.model.errorModel
import dev.mooring.ui.model.iconModel
import java.time.ZoneOffset
import java.util.Locale
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory

@OptIn(ExperimentalTestApi::class)
class SemanticsTests {
    @TestFactory
    fun everyIconHasADescriptionAndA48dpTarget() = iconStates.map { (name, s) ->
        DynamicTest.dynamicTest(name) {
            runComposeUiTest {
                mainClock.autoAdvance = false // the syncing icon spins forever
                setContent { DesktopTheme { SyncStatusIcon(s, onShowErrors = {}) } }
                mainClock.advanceTimeByFrame()
                val description = s.iconModel().contentDescription
                onNodeWithContentDescription(description)
                    .assertHasClickAction()
                    .assertWidthIsAtLeast(48.dp)
                    .assertHeightIsAtLeast(48.dp)
                    .performClick()
                mainClock.advanceTimeBy(500)
                onNodeWithText(s.title).assertExists()
                onNodeWithText(s.description).assertExists()
                // "Review" (the sync-errors list) only where there are errors to review.
                val review = onAllNodesWithTextCount("Review")
                assertEquals(if (s.syncErrors > 0uL) 1 else 0, review, "Review button on the $name sheet")
            }
        }
    }

    @Test
    fun theSheetOfPendingChangesSaysHowLongTheyWaitAndWhy() = runComposeUiTest {
        val s = iconStates.values.first { it.icon == SyncIcon.PENDING_UPLOAD }
        var asked = 0
        setContent {
            DesktopTheme {
                SyncStatusIcon(s, pendingSummary = { asked++; "3 changes waiting for 2 h: no connection" })
            }
        }
        assertEquals(0, asked, "nothing asked before the sheet opens")
        onNodeWithContentDescription(s.iconModel().contentDescription).performClick()
        waitForIdle()
        onNodeWithText(s.description).assertExists()
        onNodeWithText("3 changes waiting for 2 h: no connection").assertExists()
        assertEquals(1, asked)
    }

    @Test
    fun theSixDescriptionsDiffer() {
        val all = iconStates.values.map { it.iconModel().contentDescription }
        assertEquals(6, all.toSet().size, "$all")
    }

    @Test
    fun errorsListButtonsActOnTheirError() = runComposeUiTest {
        val retried = mutableListOf<Long>()
        val discarded = mutableListOf<Long>()
        setContent {
            DesktopTheme {
                SyncErrorsList(syncErrors, onRetry = { retried += it }, onDiscard = { discarded += it }, zone = ZoneOffset.UTC, locale = Locale.US)
            }
        }
        val second = syncErrors[1].errorModel(ZoneOffset.UTC, Locale.US)
        onNodeWithText(second.title).assertExists()
        // Material's buttons are 40 dp tall and take touches over 48 dp: check the touch bounds.
        val retry = onNodeWithContentDescription(second.retryDescription).assertHasClickAction()
        with(density) { assertTrue(retry.fetchSemanticsNode().touchBoundsInRoot.height >= 48.dp.toPx(), "Retry's touch target") }
        retry.performClick()
        onNodeWithContentDescription(syncErrors[0].errorModel(ZoneOffset.UTC, Locale.US).discardDescription).performClick()
        assertEquals(listOf(2L), retried)
        assertEquals(listOf(1L), discarded)
    }

    @Test
    fun loadingBarReportsProgress() = runComposeUiTest {
        setContent { DesktopTheme { InitialSyncScreen(loadingStates.getValue("loading-mid"), locale = Locale.US) } }
        val bar = onNodeWithContentDescription("Downloaded 41 %").fetchSemanticsNode()
        val range = bar.config[SemanticsProperties.ProgressBarRangeInfo]
        assertTrue(range.current in 0.40f..0.42f, "bar at ${range.current}")
        onNodeWithText("6,200 of 15,000 rows").assertExists()
        onNodeWithText("2.5 MB downloaded").assertExists()
    }

    @Test
    fun pausedLoadingSaysSoAndShowsNoEta() = runComposeUiTest {
        setContent { DesktopTheme { InitialSyncScreen(loadingStates.getValue("loading-paused-offline"), locale = Locale.US) } }
        onNodeWithContentDescription("Download paused at 41 %").assertExists()
        onNodeWithText("Paused").assertExists()
        assertEquals(0, onAllNodesWithTextCount("About 2 minutes left"))
    }
}

@OptIn(ExperimentalTestApi::class)
private fun androidx.compose.ui.test.ComposeUiTest.onAllNodesWithTextCount(text: String) =
    onAllNodes(androidx.compose.ui.test.hasText(text)).fetchSemanticsNodes().size
