// writeTransaction against the real library and a real emulator process:
// the writes upload as one change set, a refusal of one part is one sync
// error and none of it on the server, a throwing block writes nothing.
package dev.mooring

import dev.mooring.ffi.ChangeAction
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.SyncIcon
import dev.mooring.ui.model.errorModel
import java.io.File
import java.time.ZoneOffset
import java.util.Locale
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

class TransactionTests {
    @TempDir
    lateinit var dir: File

    @Test
    fun `a transaction's dependent creates upload together, parent first`() = runTest(timeout = 90.seconds) {
        withSyncedApp(dir) { app, emu ->
            val (account, contact) = app.writeTransaction {
                val a = create("accounts", mapOf("name" to "Parent Co"))
                a to create("contacts", mapOf("lastname" to "Child", "parentcustomerid" to a))
            }
            // Local at once, one transaction in the outbox.
            assertEquals("Parent Co", app.get("accounts", account)?.text("name"))
            val pending = app.pendingChanges()
            assertEquals(listOf(account, contact), pending.map { it.rowId })
            assertNotNull(pending[0].transaction)
            assertEquals(pending[0].transaction, pending[1].transaction)
            assertEquals(listOf(ChangeAction.CREATE, ChangeAction.CREATE), pending.map { it.action })

            app.uploadNow()
            assertNotNull(emu.serverRow("accounts", account), "the account is on the server")
            val row = assertNotNull(emu.serverRow("contacts", contact), "the contact is on the server")
            assertTrue(row.contains(account, ignoreCase = true), "bound to the new account: $row")
            assertEquals(0L, app.pendingCount())
        }
    }

    @Test
    fun `a refused part leaves none of the transaction on the server and is one sync error`() = runTest(timeout = 90.seconds) {
        withSyncedApp(dir) { app, emu ->
            val existing = emu.serverIds("accounts", "accountid")[0]
            val before = app.get("accounts", existing)!!.text("name")!!
            val created = app.writeTransaction {
                update("accounts", existing, mapOf("name" to "Renamed in the transaction"))
                // The emulator's name column takes 160 characters, as Dataverse's does.
                create("accounts", mapOf("name" to "x".repeat(500)))
            }
            app.uploadNow()
            app.status.first { it.icon == SyncIcon.ERROR && it.syncErrors == 1uL }
            assertNull(emu.serverRow("accounts", created), "the create is not on the server")
            assertTrue(emu.serverRow("accounts", existing)!!.contains(before), "the update is not either")
            assertEquals(before, app.get("accounts", existing)?.text("name"), "the mirror is the server's again")

            val errors = app.syncErrors()
            assertEquals(1, errors.size, "one entry for the transaction")
            assertEquals(listOf(ChangeAction.UPDATE, ChangeAction.CREATE), errors[0].transaction.map { it.action })
            val model = errors[0].errorModel(ZoneOffset.UTC, Locale.ROOT)
            assertEquals("Transaction refused: 2 changes", model.title)
            app.discardSyncError(errors[0].id)
            assertTrue(app.syncErrors().isEmpty())
        }
    }

    @Test
    fun `a block that throws, or a refused write, writes nothing`() = runTest(timeout = 90.seconds) {
        withSyncedApp(dir) { app, _ ->
            val count = app.sql("SELECT count(*) AS n FROM accounts").rows[0][0]
            assertFailsWith<IllegalStateException> {
                app.writeTransaction {
                    create("accounts", mapOf("name" to "Never written"))
                    error("the app changed its mind")
                }
            }
            val e = assertFailsWith<MooringException.Validation> {
                app.writeTransaction {
                    create("accounts", mapOf("name" to "Never written either"))
                    create("accounts", mapOf("no_such_column" to 1))
                }
            }
            assertEquals("no_such_column", e.field)
            assertEquals(count, app.sql("SELECT count(*) AS n FROM accounts").rows[0][0])
            assertEquals(0L, app.pendingCount())
        }
    }
}
