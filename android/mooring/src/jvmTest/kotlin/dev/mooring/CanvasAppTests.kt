// OfflineProfile.fromCanvasApp against the real library: the project's own
// small canvas app (canvas/tests/fixtures/unpack-sales; the folder comes in
// -Dmooring.canvasFixtures, set by scripts/test-kotlin) gives the tables and
// columns its formulas use, syncs from a real emulator on loopback, and a
// broken app throws the typed MooringException.CanvasApp with its place.
package dev.mooring

import dev.mooring.ffi.CanvasWarningKind
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.Query
import dev.mooring.ffi.SyncIcon
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

class CanvasAppTests {
    @TempDir
    lateinit var dir: File

    private val salesApp: File
        get() = File(System.getProperty("mooring.canvasFixtures") ?: error("-Dmooring.canvasFixtures=<dir> is not set"), "unpack-sales")

    @Test
    fun `fromCanvasApp - the tables, columns and rows the app's formulas use`() {
        val profile = OfflineProfile.fromCanvasApp(salesApp)
        val app = assertNotNull(profile.canvasApp)
        assertEquals(
            listOf(
                Triple("Accounts", "accounts", listOf("name", "ownerid", "telephone1")),
                Triple("Contacts", "contacts", listOf("firstname", "lastname", "parentcustomerid")),
            ),
            app.tables.map { Triple(it.appName, it.entitySet, it.columns) },
        )
        // Owner = User(): the user's accounts, plus those the kept contacts point at.
        val accounts = app.tables[0].rows
        assertTrue(!accounts.all && accounts.owned && accounts.related && accounts.filter == null, "$accounts")
        // 'Last Name' <> "" is evaluated on the device: a row filter.
        assertEquals("lastname ne ''", app.tables[1].rows.filter)
        assertTrue(app.warnings.none { it.kind == CanvasWarningKind.UNRESOLVED }, "${app.warnings}")
        assertTrue("table Contacts (contact, entity set contacts): read" in app.explanation, app.explanation)
        assertEquals(app.profileJson, profile.profileJson)
    }

    @Test
    fun `fromCanvasApp - a formula that does not parse throws CanvasApp with file, line and column`() {
        File(dir, "Src").mkdirs()
        File(dir, "Src/App.fx.yaml").writeText(
            "App As appinfo:\n    OnStart: =Set(a, 1)\n\n\"'S' As screen\":\n    g As gallery:\n" +
                "        Items: |-\n            =Filter(T,\n                a = )\n",
        )
        val e = assertFailsWith<MooringException.CanvasApp> { OfflineProfile.fromCanvasApp(dir) }
        assertEquals("Src/App.fx.yaml", e.file)
        assertEquals(8u, e.line)
        assertEquals(21u, e.column)
        assertTrue("g.Items: expected a value" in e.reason, e.reason)

        val missing = assertFailsWith<MooringException.CanvasApp> { OfflineProfile.fromCanvasApp(File(dir, "nothing-here")) }
        assertNull(missing.line)
        assertTrue("nothing-here" in missing.reason, missing.reason)
    }

    @Test
    fun `fromCanvasApp - the generated profile syncs the rows the formulas need`() = runTest(timeout = 90.seconds) {
        Emulator(SEED_ROWS).use { emu ->
            Mooring.open(
                serverUrl = emu.rootUrl,
                dataDir = dir,
                account = ACCOUNT,
                profile = OfflineProfile.fromCanvasApp(salesApp),
                tokens = { emu.token },
                encryptionKey = null,
                options = testOptions,
            ).use { app ->
                app.status.first { it.icon == SyncIcon.CONNECTED && it.initialSyncComplete }
                val contacts = app.query(Query(table = "contacts", filters = emptyList(), order = emptyList(), limit = null, offset = null))
                assertTrue(contacts.isNotEmpty(), "contacts synced")
                assertTrue(contacts.all { !it.text("lastname").isNullOrEmpty() }, "only contacts with a last name")
                val accounts = app.query(accounts())
                // Owned by the user or pointed at by a kept contact: not every account.
                assertTrue(accounts.size in 1 until SEED_ROWS, "accounts: ${accounts.size}")
                assertTrue(accounts.any { it.text("name") != null }, "the name column the formulas show")
                // City is in the app's data source but in no formula: not kept.
                assertTrue(accounts.none { "address1_city" in it }, "address1_city kept: ${accounts.first().keys}")
            }
        }
    }
}
