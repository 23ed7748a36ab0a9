// Typed rows on the JVM against the real library and emulator: every column
// type of the emulator's new_inspections table read as its Kotlin type, by
// the RowReader mapper and by decoding into a @Serializable class, the same
// before and after the upload; mismatches are RowTypeException naming the
// column.
package dev.mooring

import dev.mooring.ffi.Filter
import dev.mooring.ffi.Query
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.Value
import java.io.File
import java.math.BigDecimal
import java.time.Instant
import java.time.LocalDate
import java.time.temporal.ChronoUnit
import java.util.UUID
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.test.runTest
import kotlinx.serialization.Contextual
import kotlinx.serialization.SerialName
import kotlinx.serialization.Serializable
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

const val TYPED_PROFILE = """{"tables":[
  {"name":"accounts","columns":["name"],"rows":"all"},
  {"name":"new_inspections","columns":["new_name","new_score","new_cost","new_ratio","new_passed",
    "new_inspectedon","new_duedate","new_result","new_findings","new_reference","new_siteid","statecode"],
   "rows":"all"}]}"""

@Serializable
enum class Outcome { Pass, @SerialName("Minor issues") MinorIssues, Fail }

@Serializable
data class Inspection(
    @SerialName("new_inspectionid") @Contextual val id: UUID,
    @SerialName("new_name") val name: String,
    @SerialName("new_score") val score: Int? = null,
    @SerialName("new_cost") @Contextual val cost: BigDecimal? = null,
    @SerialName("new_ratio") val ratio: Double? = null,
    @SerialName("new_passed") val passed: Boolean? = null,
    @SerialName("new_inspectedon") @Contextual val inspectedOn: Instant? = null,
    @SerialName("new_duedate") @Contextual val due: LocalDate? = null,
    @SerialName("new_result") val result: Outcome? = null,
    @SerialName("new_findings") val findings: List<Long> = emptyList(),
    @SerialName("new_siteid") val site: String? = null,
    @SerialName("statecode") val state: Int = 0,
    val notAColumn: String = "default kept",
)

@Serializable
data class WrongKind(@SerialName("new_name") val name: Int)

class TypedRowTests {
    @TempDir
    lateinit var dir: File

    private fun inspections(name: String) = Query(
        table = "new_inspections",
        filters = listOf(Filter.Eq("new_name", Value.Text(name))),
        order = emptyList(), limit = null, offset = null,
    )

    @Test
    fun `every column type reads as its Kotlin type, mapped and decoded, before and after the upload`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            openApp(emu, dir, profile = TYPED_PROFILE).use { app ->
                app.awaitFirstSync()
                val site = app.query(accounts(limit = 1u)).single()
                val siteId = site.text("accountid")!!
                val reference = UUID.randomUUID()
                val inspected = Instant.parse("2026-11-30T14:45:10.250Z")
                app.setHostNetwork(online = false)
                app.create(
                    "new_inspections",
                    mapOf(
                        "new_name" to "Pump room",
                        "new_score" to 87,
                        "new_cost" to BigDecimal("1250.75"),
                        "new_ratio" to 0.875,
                        "new_passed" to false,
                        "new_inspectedon" to inspected,
                        "new_duedate" to LocalDate.of(2027, 1, 31),
                        "new_result" to Choice(100000002),
                        "new_findings" to listOf(Choice(3), Choice(1)),
                        "new_reference" to reference,
                        "new_siteid" to Lookup(siteId),
                    ),
                )
                data class Seen(
                    val name: String, val score: Int, val cost: BigDecimal, val ratio: Double, val passed: Boolean,
                    val at: Instant, val due: LocalDate, val result: Choice, val findings: List<Choice>,
                    val reference: UUID, val site: Lookup, val state: Choice?,
                )
                val read: suspend () -> Seen = {
                    app.query(inspections("Pump room")) { r ->
                        Seen(
                            r.string("new_name"), r.int("new_score"), r.decimal("new_cost"), r.double("new_ratio"),
                            r.boolean("new_passed"), r.instant("new_inspectedon"), r.localDate("new_duedate"),
                            r.choice("new_result"), r.choices("new_findings"), r.uuid("new_reference"),
                            r.lookup("new_siteid"), r.choiceOrNull("statecode"),
                        )
                    }.single()
                }
                val local = read()
                assertEquals("Pump room", local.name)
                assertEquals(87, local.score)
                assertEquals(0, BigDecimal("1250.75").compareTo(local.cost), "cost ${local.cost}")
                assertEquals(0.875, local.ratio)
                assertEquals(false, local.passed)
                assertEquals(inspected, local.at)
                assertEquals(LocalDate.of(2027, 1, 31), local.due)
                assertEquals(Choice(100000002, "Fail"), local.result, "the label comes from the server's metadata")
                assertEquals(listOf(Choice(3, "Wiring"), Choice(1, "Corrosion")), local.findings)
                assertEquals(reference, local.reference)
                assertEquals(Lookup(siteId, "accounts", site.text("name")), local.site, "the lookup names the account")

                app.setHostNetwork(online = true)
                eventually("the create is uploaded", state = { app.currentStatus.brief() }) { app.pendingCount() == 0L }
                val acked = read()
                // Dataverse keeps date-times to the second: the acknowledgement says so.
                val atServer = inspected.truncatedTo(ChronoUnit.SECONDS)
                assertEquals(local.copy(state = acked.state, at = atServer), acked, "the server's acknowledgement reads the same")
                assertEquals(Choice(0, "Active"), acked.state, "statecode set by the server, with its label")

                val decoded = app.queryAs<Inspection>(inspections("Pump room")).single()
                assertEquals(
                    Inspection(
                        id = decoded.id, name = "Pump room", score = 87, cost = decoded.cost, ratio = 0.875, passed = false,
                        inspectedOn = atServer, due = LocalDate.of(2027, 1, 31), result = Outcome.Fail,
                        findings = listOf(3L, 1L), site = siteId, state = 0,
                    ),
                    decoded,
                )
                assertEquals(0, BigDecimal("1250.75").compareTo(decoded.cost))
                // The watch Flow maps too, current result first.
                val watched = app.watch(inspections("Pump room")) { it.choice("new_result").label }.first()
                assertEquals(listOf("Fail"), watched)
                // SQL reads give SQLite's kinds; the accessors and the decoder read those forms too.
                val viaSql = app.sqlAs<Inspection>(
                    "SELECT new_inspectionid, new_name, new_inspectedon, new_duedate, new_findings, statecode " +
                        "FROM new_inspections WHERE new_name = ?",
                    "Pump room",
                ).single()
                assertEquals(atServer, viaSql.inspectedOn)
                assertEquals(LocalDate.of(2027, 1, 31), viaSql.due)
                assertEquals(listOf(3L, 1L), viaSql.findings)
            }
        }
    }

    @Test
    fun `a column of another kind is a RowTypeException naming it, never a crash`() = runTest(timeout = 90.seconds) {
        Emulator(20).use { emu ->
            openApp(emu, dir, profile = TYPED_PROFILE).use { app ->
                app.awaitFirstSync()
                val q = Query(table = "new_inspections", filters = emptyList(), order = emptyList(), limit = 1u, offset = null)
                val e = assertFailsWith<RowTypeException> { app.query(q) { it.instant("new_name") } }
                assertEquals("new_name", e.column)
                assertEquals("a date-time", e.expected)
                assertEquals("text", e.found, "the kind, never the value")
                val absent = assertFailsWith<RowTypeException> { app.query(q) { it.string("nosuchcolumn") } }
                assertEquals("no such column", absent.found)
                val decoded = assertFailsWith<RowTypeException> { app.queryAs<WrongKind>(q) }
                assertEquals("new_name", decoded.column)
                assertTrue(decoded.message!!.contains("new_name"), decoded.message)
                val rows = app.query(q) { it.stringOrNull("new_name") to it.localDateOrNull("new_duedate") }
                assertNotNull(rows.single().first)
            }
        }
    }
}
