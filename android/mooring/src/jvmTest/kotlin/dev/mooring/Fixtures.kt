// What the tests against the real library share: the profile, fast timings,
// opening an app on an emulator, and waiting in real time.
package dev.mooring

import dev.mooring.ffi.Filter
import dev.mooring.ffi.Query
import dev.mooring.ffi.SortKey
import dev.mooring.ffi.SyncIcon
import dev.mooring.ffi.SyncStatus
import java.io.File
import kotlin.test.fail
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull

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
    tokens: AccessTokenProvider = AccessTokenProvider { emu.token },
    profile: String = PROFILE,
) = Mooring.open(
    serverUrl = emu.rootUrl,
    dataDir = dir,
    account = ACCOUNT,
    profile = OfflineProfile.profile(profile),
    tokens = tokens,
    encryptionKey = key,
    options = options,
)

/** Opens [dir] on a fresh emulator, waits for the first sync to complete, runs [body], closes both. */
suspend fun withSyncedApp(dir: File, options: MooringOptions = testOptions, body: suspend (Mooring, Emulator) -> Unit) {
    Emulator(SEED_ROWS).use { emu ->
        openApp(emu, dir, options = options).use { app ->
            app.status.first { it.icon == SyncIcon.CONNECTED && it.initialSyncComplete }
            body(app, emu)
        }
    }
}

fun accounts(vararg filters: Filter, limit: UInt? = null, order: List<SortKey> = emptyList()) =
    Query(table = "accounts", filters = filters.toList(), order = order, limit = limit, offset = null)

fun SyncStatus.brief() = "$icon $messageKey pending=$pendingChanges errors=$syncErrors"

/**
 * Retries [cond] every 50 ms until it holds, in real time: runTest's virtual
 * clock would skip the waits, while the library works on real threads.
 */
suspend fun eventually(what: String, timeout: Duration = 20.seconds, state: () -> Any? = { null }, cond: suspend () -> Boolean) {
    val met = withContext(Dispatchers.Default) {
        withTimeoutOrNull(timeout) {
            while (!cond()) delay(50.milliseconds)
            true
        }
    }
    if (met == null) fail("timed out after $timeout waiting for $what; state: ${state()}")
}

/** [block] with timeouts and delays on the real clock (see [eventually]). */
suspend fun <T> realTime(block: suspend () -> T): T = withContext(Dispatchers.Default) { block() }
