// The Kotlin API layer against the real Rust library (JNA) and a real
// emulator process on loopback: each case its own emulator and data folder.
package dev.mooring

import dev.mooring.ffi.Filter
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.Query
import dev.mooring.ffi.SortKey
import dev.mooring.ffi.StatusWarning
import dev.mooring.ffi.SyncErrorKind
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncStatus
import dev.mooring.ffi.Value
import dev.mooring.ui.model.initialSyncModel
import java.io.File
import java.util.Collections
import java.util.Locale
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.takeWhile
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout

const val SEED_ROWS = 300
const val PROFILE = """{"tables":[
  {"name":"accounts","columns":["name","telephone1","numberofemployees"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"""
const val ACCOUNT = "tester@contoso.test"

/** Fast timings so a test does not wait for production backoffs. */
val testOptions = MooringOptions(
    probeInterval = 30.seconds,
    uploadDebounce = 100.milliseconds,
    retryBase = 200.milliseconds,
    retryCap = 1.seconds,
    pageSize = 50, // several pages per table: several progress values
)

suspend fun openApp(
    emu: Emulator,
    dir: File,
    key: EncryptionKeyProvider? = null,
    options: MooringOptions = testOptions,
) = Mooring.open(
    serverUrl = emu.rootUrl,
    dataDir = dir,
    account = ACCOUNT,
    profile = OfflineProfile.profile(PROFILE),
    tokens = { emu.token },
    encryptionKey = key,
    options = options,
)

/** Opens, waits for the first sync to complete, runs [body], closes; the emulator and folder go too. */
suspend fun withSyncedApp(body: suspend (Mooring, Emulator, File) -> Unit) {
    Emulator(SEED_ROWS).use { emu ->
        val dir = tempDir("synced")
        try {
            openApp(emu, dir).use { app ->
                app.status.first { it.icon == SyncIcon.CONNECTED && it.initialSyncComplete }
                body(app, emu, dir)
            }
        } finally {
            dir.deleteRecursively()
        }
    }
}

fun accounts(vararg filters: Filter, limit: UInt? = null, order: List<SortKey> = emptyList()) =
    Query(table = "accounts", filters = filters.toList(), order = order, limit = limit, offset = null)

fun SyncStatus.brief() = "$icon $messageKey pending=$pendingChanges errors=$syncErrors"

fun apiTests(): List<Case> = listOf(
    Case("initial sync: the status Flow shows syncing then connected, progress up to every row") {
        Emulator(SEED_ROWS).use { emu ->
            val dir = tempDir("initial")
            openApp(emu, dir).use { app ->
                val seen = app.status.takeWhile { !(it.icon == SyncIcon.CONNECTED && it.initialSyncComplete) }.toList()
                val icons = seen.map { it.icon }.distinct()
                val firstSyncing = icons.indexOf(SyncIcon.SYNCING)
                check(firstSyncing >= 0) { "no syncing icon in $icons" }
                check(app.currentStatus.icon == SyncIcon.CONNECTED) { "ends connected: ${app.currentStatus.brief()}" }
                val progress = seen.mapNotNull { it.progress }
                check(progress.size >= 3) { "several progress values (page size 50), got ${progress.size}" }
                val rows = progress.map { it.rowsDone }
                check(rows.zipWithNext().all { (a, b) -> a <= b }) { "rows done never go back: $rows" }
                val last = progress.last()
                expectEq((2 * SEED_ROWS).toULong(), last.rowsTotal, "rows total")
                expectEq(2u, last.tablesTotal, "tables total")
                val tables = progress.map { it.tablesDone }
                check(tables.zipWithNext().all { (a, b) -> a <= b }) { "tables done never go back: $tables" }
                // The last value before connected may be the final step; the mirror holds every row.
                expectEq(SEED_ROWS, app.query(accounts()).size, "accounts in the mirror")
                // The loading screen's model over what was seen: fractions increase to 1.
                val fractions = seen.filter { it.progress != null }.map { it.initialSyncModel(Locale.US).fraction }
                check(fractions.zipWithNext().all { (a, b) -> a <= b }) { "fraction never goes back: $fractions" }
                check(fractions.max() > 0.5f) { "the bar moved: $fractions" }
                check(!app.currentStatus.initialSyncModel().visible) { "loading screen hidden after the first sync" }
            }
            dir.deleteRecursively()
        }
    },

    Case("reads: get, a typed query, and a watch Flow") {
        withSyncedApp { app, emu, _ ->
            val ids = emu.serverIds("accounts", "accountid")
            val row = app.get("accounts", ids[0]) ?: throw TestFailure("row ${ids[0]} missing")
            check(row.text("accountid").equals(ids[0], ignoreCase = true)) { "key column in the row: $row" }
            check(row.text("name") != null) { "name read: $row" }
            check(app.get("accounts", "00000000-0000-0000-0000-000000000001") == null) { "missing row is null" }

            val top = app.query(accounts(Filter.IsNotNull("name"), limit = 5u, order = listOf(SortKey("name", descending = true))))
            expectEq(5, top.size, "limit 5")
            val names = top.map { it.text("name")!! }
            check(names.zipWithNext().all { (a, b) -> a >= b }) { "descending by name: $names" }

            val watched = Collections.synchronizedList(mutableListOf<Int>())
            coroutineScope {
                val job = launch(Dispatchers.Default) {
                    app.watch(accounts(Filter.StartsWith("name", "KT watch"))).collect { watched.add(it.size) }
                }
                waitUntil("the watch's first rows", state = { watched }) { watched.isNotEmpty() }
                expectEq(0, watched.first(), "no row matches yet")
                app.create("accounts", mapOf("name" to "KT watch 1", "numberofemployees" to 12))
                waitUntil("the watch to see the new row", state = { watched }) { watched.last() == 1 }
                job.cancel()
            }
            waitUntil("the watch listener released", state = { app.liveListeners }) { app.liveListeners == 0 }
        }
    },

    Case("offline write: pending upload, then back online it uploads and the server has it") {
        withSyncedApp { app, emu, _ ->
            app.setHostNetwork(online = false)
            val id = app.create("accounts", mapOf("name" to "KT offline", "telephone1" to "555-0101"))
            val pending = app.status.first { it.icon == SyncIcon.PENDING_UPLOAD }
            expectEq(1uL, pending.pendingChanges, "pending changes in the status")
            expectEq(1L, app.pendingCount(), "pendingCount()")
            expectEq("KT offline", app.get("accounts", id)?.text("name"), "readable offline")
            check(emu.serverRow("accounts", id) == null) { "not on the server while offline" }
            val refused = expectThrows<MooringException.Offline>("uploadNow offline") { app.uploadNow() }
            check(refused.reason.isNotEmpty()) { "a reason" }

            app.setHostNetwork(online = true)
            app.uploadNow()
            val onServer = emu.serverRow("accounts", id) ?: throw TestFailure("$id not on the server after upload")
            check(onServer.contains("KT offline")) { "server row: $onServer" }
            val done = app.status.first { it.icon == SyncIcon.CONNECTED }
            expectEq(0uL, done.pendingChanges, "nothing pending")
        }
    },

    Case("server unreachable: syncNow throws Offline, a warning shows, then it recovers") {
        withSyncedApp { app, emu, _ ->
            // Longer than the core's in-request retries (3 tries, at most
            // 0.5 + 1 + 2 s), so the run fails rather than riding it out.
            emu.refuseConnections(5000)
            expectThrows<MooringException.Offline>("syncNow while the server refuses connections") { app.syncNow() }
            val warn = app.status.first { it.icon == SyncIcon.WARNING }
            check(warn.warnings.any { it is StatusWarning.ServerUnreachable }) { "server unreachable warning: ${warn.warnings}" }
            waitUntil("a sync to succeed again", state = { app.currentStatus.brief() }) {
                runCatching { app.syncNow() }.isSuccess
            }
            app.status.first { it.icon == SyncIcon.CONNECTED }
        }
    },

    Case("a server-rejected change is a sync error: listed, error icon, then discarded") {
        withSyncedApp { app, emu, _ ->
            val id = emu.serverIds("accounts", "accountid")[1]
            val before = app.get("accounts", id)!!.text("name")
            // The emulator's name column takes 160 characters, as Dataverse's does.
            app.update("accounts", id, mapOf("name" to "x".repeat(500)))
            app.uploadNow()
            val err = app.status.first { it.icon == SyncIcon.ERROR }
            expectEq(1uL, err.syncErrors, "sync errors in the status")
            val errors = app.syncErrors()
            expectEq(1, errors.size, "sync errors listed")
            val e = errors[0]
            expectEq(400.toUShort(), e.httpStatus, "HTTP status")
            expectEq(SyncErrorKind.OTHER, e.kind, "kind")
            check(e.rowId.equals(id, ignoreCase = true)) { "row id ${e.rowId}" }
            check(e.message.isNotEmpty()) { "the server's message" }
            expectEq(before, app.get("accounts", id)?.text("name"), "row back to the server's state")

            app.discardSyncError(e.id)
            check(app.syncErrors().isEmpty()) { "list empty after discard" }
            app.status.first { it.icon == SyncIcon.CONNECTED && it.syncErrors == 0uL }
            expectThrows<MooringException>("discarding twice") { app.discardSyncError(e.id) }
        }
    },

    Case("bad input is a typed exception: Validation with the field, NotFound") {
        withSyncedApp { app, _, _ ->
            val v = expectThrows<MooringException.Validation>("unknown column") {
                app.create("accounts", mapOf("nosuchcolumn" to "x"))
            }
            expectEq("nosuchcolumn", v.field, "field")
            expectThrows<MooringException.Validation>("NaN") { app.create("accounts", mapOf("name" to Double.NaN)) }
            expectThrows<MooringException>("unknown table") { app.query(Query("nosuchtable", emptyList(), emptyList(), null, null)) }
            expectThrows<MooringException.NotFound>("delete a missing row") {
                app.delete("accounts", "00000000-0000-0000-0000-000000000001")
            }
            expectThrows<IllegalArgumentException>("a Kotlin type with no Mooring value") {
                app.create("accounts", mapOf("name" to listOf(1)))
            }
            expectEq(0L, app.pendingCount(), "nothing written")
        }
    },

    Case("cancelling a Flow cancels its Rust listener") {
        withSyncedApp { app, _, _ ->
            expectEq(0, app.liveListeners, "no listener before")
            val calls = java.util.concurrent.atomic.AtomicInteger()
            coroutineScope {
                val job = launch(Dispatchers.Default) { app.status.collect { calls.incrementAndGet() } }
                waitUntil("the current value", state = { calls.get() }) { calls.get() >= 1 }
                expectEq(1, app.liveListeners, "one listener while collecting")
                job.cancel()
                job.join()
            }
            expectEq(0, app.liveListeners, "listener released on cancel")
            // first {} and take() end their collection too
            app.status.take(1).toList()
            app.watch(accounts()).first()
            expectEq(0, app.liveListeners, "released after first/take")
            val before = calls.get()
            app.setHostNetwork(online = false) // changes the status
            app.setHostNetwork(online = true)
            delay(200)
            expectEq(before, calls.get(), "no callback after cancel")
        }
    },

    Case("close completes live Flows, releases the file, and later calls throw Closed") {
        Emulator(SEED_ROWS).use { emu ->
            val dir = tempDir("close")
            val app = openApp(emu, dir)
            app.status.first { it.initialSyncComplete && it.icon == SyncIcon.CONNECTED }
            val id = app.create("accounts", mapOf("name" to "KT before close"))
            coroutineScope {
                val collecting = async(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) { app.status.toList() }
                waitUntil("the collector registered", state = { app.liveListeners }) { app.liveListeners == 1 }
                app.close()
                withTimeout(5.seconds) { collecting.await() } // completes: close() ended the Flow
            }
            expectEq(0, app.liveListeners, "no listener after close")
            app.close() // idempotent
            expectThrows<MooringException.Closed>("get after close") { app.get("accounts", id) }
            expectThrows<MooringException.Closed>("status after close") { app.currentStatus }
            expectThrows<MooringException.Closed>("setHostNetwork after close") { app.setHostNetwork(true) }
            expectThrows<MooringException.Closed>("collecting after close") { app.status.first() }
            // The file is free: a new object opens it (offline) and has the row.
            openApp(emu, dir, options = testOptions.copy(hostOnline = false)).use { again ->
                expectEq("KT before close", again.get("accounts", id)?.text("name"), "row after reopen")
            }
            dir.deleteRecursively()
        }
    },

    Case("signOut refuses with the pending count, then wipes with discardPending") {
        withSyncedApp { app, _, dir ->
            app.setHostNetwork(online = false)
            app.create("accounts", mapOf("name" to "KT unsent 1"))
            app.create("accounts", mapOf("name" to "KT unsent 2"))
            val refused = expectThrows<MooringException.PendingChanges>("signOut(false)") { app.signOut(false) }
            expectEq(2uL, refused.count, "pending count")
            check(dir.listFiles()!!.isNotEmpty()) { "nothing deleted" }
            expectEq(2L, app.pendingCount(), "still usable")
            app.signOut(true)
            expectEq(emptyList<String>(), dir.listFiles()!!.map { it.name }, "mirror files deleted")
            expectThrows<MooringException.Closed>("after signOut") { app.pendingCount() }
        }
    },

    Case("encryption: the key opens the file, a wrong or missing key is WrongKey") {
        Emulator(20).use { emu ->
            val dir = tempDir("key")
            val offline = testOptions.copy(hostOnline = false)
            val id = openApp(emu, dir, key = { "secret-key-1" }).use { app ->
                app.status.first { it.initialSyncComplete }
                app.create("accounts", mapOf("name" to "KT encrypted"))
            }
            val db = dir.listFiles()!!.first { it.name.endsWith(".db") }
            check(!db.readBytes().decodeToString().contains("KT encrypted")) { "plain text in the file" }
            expectThrows<MooringException.WrongKey>("wrong key") { openApp(emu, dir, key = { "other" }, options = offline) }
            expectThrows<MooringException.WrongKey>("no key") { openApp(emu, dir, key = null, options = offline) }
            openApp(emu, dir, key = { "secret-key-1" }, options = offline).use { app ->
                expectEq("KT encrypted", app.get("accounts", id)?.text("name"), "read with the right key")
            }
            dir.deleteRecursively()
        }
    },

    Case("first launch offline: the loading screen says the first sync needs a connection") {
        Emulator(20).use { emu ->
            val dir = tempDir("firstoffline")
            openApp(emu, dir, options = testOptions.copy(hostOnline = false)).use { app ->
                val s = app.status.first { it.icon == SyncIcon.WARNING }
                check(s.warnings.contains(StatusWarning.FirstSyncNeedsConnection)) { "warnings: ${s.warnings}" }
                val screen = s.initialSyncModel(Locale.US)
                check(screen.visible && screen.needsConnection) { "screen: $screen" }
                check(screen.title.isNotEmpty() && screen.description.isNotEmpty()) { "core's texts: $screen" }
                app.setHostNetwork(online = true)
                app.status.first { it.icon == SyncIcon.CONNECTED && it.initialSyncComplete }
            }
            dir.deleteRecursively()
        }
    },
)
