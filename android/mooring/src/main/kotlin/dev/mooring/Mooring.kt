// The app's offline Dataverse data: an idiomatic Kotlin face over the
// generated `MooringApp` (uniffi). Suspend functions for one-shot calls,
// Flows for state that changes (status, watched queries), AutoCloseable.
// Errors are the generated sealed `MooringException` (dev.mooring.ffi),
// re-thrown as is: `catch (e: MooringException.Validation) { e.field }`.
// Pure Kotlin (no android.*): compiled and tested on the JVM by scripts/test-kotlin.
package dev.mooring

import dev.mooring.ffi.AppConfig
import dev.mooring.ffi.LogRecord
import dev.mooring.ffi.LogSink
import dev.mooring.ffi.MooringApp
import dev.mooring.ffi.MooringException
import dev.mooring.ffi.PendingChangeInfo
import dev.mooring.ffi.Query
import dev.mooring.ffi.RowsListener
import dev.mooring.ffi.SqlListener
import dev.mooring.ffi.SqlRows
import dev.mooring.ffi.StatusListener
import dev.mooring.ffi.SyncErrorInfo
import dev.mooring.ffi.SyncStatus
import dev.mooring.ffi.TaskHandle
import dev.mooring.ffi.TokenException
import dev.mooring.ffi.TokenProvider
import java.io.File
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.SendChannel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.firstOrNull
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.withContext

class Mooring private constructor(private val app: MooringApp) : AutoCloseable {

    companion object {
        /**
         * Opens (or creates) [account]'s mirror in [dataDir] and starts syncing in
         * the background. Works offline: reads answer from the mirror at once.
         *
         * [encryptionKey] has no default on purpose: pass a provider (Android:
         * `KeystoreKeyProvider`), or `encryptionKey = null` to say in code that
         * this database is stored in clear.
         */
        suspend fun open(
            serverUrl: String,
            dataDir: File,
            account: String,
            profile: OfflineProfile,
            tokens: AccessTokenProvider,
            encryptionKey: EncryptionKeyProvider?,
            options: MooringOptions = MooringOptions(),
        ): Mooring {
            val key = encryptionKey?.let { resolveKey(it, account) }
            val config = AppConfig(
                serverUrl = serverUrl,
                dataDir = dataDir.path,
                account = account,
                profileJson = profile.profileJson,
                manifestJson = profile.manifestJson,
                encryptionKey = key,
                hostOnline = options.hostOnline,
                metered = options.metered,
                wifiOnly = options.wifiOnly,
                deltaIntervalSecs = options.deltaInterval?.inWholeSeconds?.toULong(),
                probeIntervalSecs = options.probeInterval?.inWholeSeconds?.toULong(),
                uploadDebounceMs = options.uploadDebounce?.inWholeMilliseconds?.toULong(),
                retryBaseMs = options.retryBase?.inWholeMilliseconds?.toULong(),
                retryCapMs = options.retryCap?.inWholeMilliseconds?.toULong(),
                pageSize = options.pageSize?.toUInt(),
                extraRootsPem = options.extraRootsPem,
                proxyUrl = options.proxyUrl,
            )
            return Mooring(MooringApp.open(config, TokenAdapter(tokens)))
        }

        /**
         * The host's key, on an IO thread. Whatever it throws (a wiped Keystore,
         * a bad wrapped key) becomes the typed `MooringException.Storage`, as
         * Swift's `resolveKey` does: callers handle one error type. The
         * provider's message stays out of the reason (it may quote key
         * material); the exception is kept as the cause for the app's own logs.
         */
        private suspend fun resolveKey(provider: EncryptionKeyProvider, account: String): String =
            try {
                withContext(Dispatchers.IO) { provider.key(account) }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                throw MooringException.Storage("the encryption key provider failed: ${e::class.simpleName}").apply { initCause(e) }
            }

        /** `off|error|warn|info|debug|trace`; logcat on Android, stderr on the JVM. The first call wins. */
        fun initLogging(level: String) = dev.mooring.ffi.initLogging(level)

        /**
         * Routes Mooring's log records to the app's own logger instead of logcat, until
         * [clearLogSink]: `Mooring.setLogSink { r -> Timber.tag(r.target).log(priority(r.level), r.message) }`.
         * Called on Mooring's threads; no token or row value is ever in a record.
         */
        fun setLogSink(sink: (LogRecord) -> Unit) = dev.mooring.ffi.setLogSink(object : LogSink {
            override fun onRecord(record: LogRecord) = sink(record)
        })

        /** Back to logcat (the JVM: stderr). */
        fun clearLogSink() = dev.mooring.ffi.clearLogSink()
    }

    private val closed = AtomicBoolean(false)

    // Every live listener and the channel of its Flow, so close() can stop them all.
    private val listeners = ConcurrentHashMap<TaskHandle, SendChannel<*>>()

    /** Listeners (status, watches) still registered in Rust: for tests and leak checks. */
    internal val liveListeners: Int get() = listeners.size

    // --- state ------------------------------------------------------------------

    /** The status now (icon, what tapping it says, progress, counts). */
    val currentStatus: SyncStatus get() = call { it.status() }

    /**
     * The status: the current value first, then every change in order. Each
     * collector registers its own Rust listener, removed when the collector is
     * cancelled or this object is closed (the Flow then completes). A slow
     * collector loses the oldest values, never the latest; `.conflate()` it for UI.
     */
    val status: Flow<SyncStatus> = callbackFlow {
        val handle = call {
            it.observeStatus(object : StatusListener {
                override fun onStatus(status: SyncStatus) {
                    trySend(status)
                }
            })
        }
        register(handle, channel)
        awaitClose { release(handle) }
    }.buffer(64, BufferOverflow.DROP_OLDEST)

    /**
     * The status as state (`collectAsState()` in Compose, `.value` anywhere): the
     * current value at once, then every change, from one Rust listener registered at
     * the first read and released by [close] (the value then stays the last one).
     */
    val statusState: StateFlow<SyncStatus> by lazy {
        val state = MutableStateFlow(currentStatus)
        val handle = call {
            it.observeStatus(object : StatusListener {
                override fun onStatus(status: SyncStatus) {
                    state.value = status
                }
            })
        }
        // No Flow to complete on close: a channel that close() can close for nothing.
        register(handle, Channel<Unit>(Channel.RENDEZVOUS))
        state.asStateFlow()
    }

    /**
     * Suspends until the first sync has completed (at once if it had), and returns
     * that status: for a splash screen that waits for data. Offline on a first launch
     * it waits until there is a connection; cancel the coroutine to stop waiting.
     * Throws `MooringException.Closed` if this object is closed first.
     */
    suspend fun awaitFirstSync(): SyncStatus =
        status.firstOrNull { it.initialSyncComplete } ?: throw MooringException.Closed()

    // --- reads ------------------------------------------------------------------

    /** One row by key (GUID, any case), local changes included; null if there is none. */
    suspend fun get(table: String, id: String): Row? = call { it.get(table, id) }

    suspend fun query(query: Query): List<Row> = call { it.query(query) }

    /** [get] mapped: `app.get("accounts", id) { Account(it.string("name"), it.instant("createdon")) }`. */
    suspend fun <T> get(table: String, id: String, map: (RowReader) -> T): T? = get(table, id)?.let { map(RowReader(it)) }

    /**
     * [query] mapped into the app's own class: `app.query(q) { row -> Account(row.string("name"), row.instant("createdon")) }`.
     * A column of another kind throws [RowTypeException] naming it.
     */
    suspend fun <T> query(query: Query, map: (RowReader) -> T): List<T> = query(query).map { map(RowReader(it)) }

    /** [query] decoded into a `@Serializable` class (RowDecoding.kt). */
    suspend inline fun <reified T> queryAs(query: Query): List<T> = query(query).map { it.decode<T>() }

    /** [watch] mapped; a mapping error ends the flow with it. */
    fun <T> watch(query: Query, map: (RowReader) -> T): Flow<List<T>> =
        watch(query).map { rows -> rows.map { map(RowReader(it)) } }

    /** [watch] decoded into a `@Serializable` class. */
    inline fun <reified T> watchAs(query: Query): Flow<List<T>> = watch(query).map { rows -> rows.map { it.decode<T>() } }

    /** [sql] decoded into a `@Serializable` class (SQLite's kinds: see RowReader). */
    suspend inline fun <reified T> sqlAs(sql: String, vararg params: Any?): List<T> =
        sql(sql, *params).rowMaps().map { it.decode<T>() }

    /** The query's rows now, then each time they change (latest only). Bad queries throw on collect. */
    fun watch(query: Query): Flow<List<Row>> = callbackFlow {
        val handle = call {
            it.watch(query, object : RowsListener {
                override fun onRows(rows: List<Row>) {
                    trySend(rows)
                }
            })
        }
        register(handle, channel)
        awaitClose { release(handle) }
    }.buffer(Channel.CONFLATED)

    /**
     * One read-only SQL statement over the mirror's tables (joins, aggregates),
     * local changes included; `?` parameters bound from Kotlin values ([valueOf]).
     * Tables and columns are the profile's logical names. A write, a PRAGMA, one of
     * Mooring's own tables or bad SQL throws [MooringException.SqlRefused].
     */
    suspend fun sql(sql: String, vararg params: Any?): SqlRows =
        call { it.sql(sql, params.map(::valueOf)) }

    /** [sql] with each row mapped: `app.sql("SELECT name FROM accounts") { it.text("name") }`. */
    suspend fun <T> sql(sql: String, vararg params: Any?, map: (Row) -> T): List<T> =
        sql(sql, *params).rowMaps().map(map)

    /**
     * The SQL read's result now, then each time a write to a table it reads changes
     * it (latest only; Rust re-runs it at most every 50 ms). Bad SQL throws on collect.
     */
    fun watchSql(sql: String, vararg params: Any?): Flow<SqlRows> {
        val values = params.map(::valueOf)
        return callbackFlow {
            val handle = call {
                it.watchSql(sql, values, object : SqlListener {
                    override fun onRows(rows: SqlRows) {
                        trySend(rows)
                    }
                })
            }
            register(handle, channel)
            awaitClose { release(handle) }
        }.buffer(Channel.CONFLATED)
    }

    // --- writes (applied locally at once, uploaded when reachable) ---------------

    /** Creates a row from Kotlin values (see [valueOf]); returns its new GUID. */
    suspend fun create(table: String, values: Map<String, Any?>): String =
        call { it.create(table, toValues(values)) }

    suspend fun update(table: String, id: String, values: Map<String, Any?>) =
        call { it.update(table, id, toValues(values)) }

    suspend fun delete(table: String, id: String) = call { it.delete(table, id) }

    /**
     * Several writes as one. [block] lists them; when it returns they reach
     * the mirror and the outbox together, or not at all (the first refused
     * write throws its error and cancels all of them), and they upload as one
     * Dataverse `$batch` change set, which the server applies whole or not at
     * all. A refused transaction is one entry of [syncErrors]. A create
     * returns its new GUID at once, so later writes can point at the row:
     *
     * ```
     * val contact = mooring.writeTransaction {
     *     val account = create("accounts", mapOf("name" to "Fabrikam"))
     *     create("contacts", mapOf("lastname" to "Ito", "parentcustomerid" to account))
     * }
     * ```
     * [block] runs before anything is written: reads inside it do not see its writes.
     */
    suspend fun <T> writeTransaction(block: WriteTransaction.() -> T): T {
        val tx = WriteTransaction()
        val result = tx.block()
        call { it.writeTransaction(tx.ops.toList()) }
        return result
    }

    /** Changes waiting for upload (counted in changes, not rows). */
    suspend fun pendingCount(): Long = call { it.pendingCount().toLong() }

    /** The changes waiting for upload, oldest first: table, row, action, columns (no values), since when. */
    suspend fun pendingChanges(limit: Int = 100): List<PendingChangeInfo> =
        call { it.pendingChanges(limit.coerceAtLeast(0).toUInt()) }

    /** "3 changes waiting for 2 h: no connection" (English); null when nothing waits. */
    suspend fun pendingSummary(): String? = call { it.pendingSummary() }

    // --- sync ---------------------------------------------------------------------

    /** Syncs now; returns when that run ended, or throws why it could not run (Offline, Auth...). */
    suspend fun syncNow() = call { it.syncNow() }

    /** Uploads pending changes now, without downloading. */
    suspend fun uploadNow() = call { it.uploadNow() }

    /**
     * The diagnostics report, as text for the user to share with support
     * (an `ACTION_SEND` intent): versions, profile, per-table sync state,
     * outbox, sync error codes, recent status changes, sync runs and logs.
     * No token, key or row value in it.
     */
    suspend fun diagnostics(): String = call { it.diagnostics() }

    /** Asks for a sync without waiting (pull-to-refresh). */
    fun requestSync() = call { it.requestSync() }

    /** Changes the server refused, oldest first. */
    suspend fun syncErrors(): List<SyncErrorInfo> = call { it.syncErrors() }

    /** Queues the refused change again (a delete on the server comes back as a create). */
    suspend fun retrySyncError(id: Long) = call { it.retrySyncError(id) }

    /** Drops the refused change (a transaction: all of it); the rows keep the server's state. */
    suspend fun discardSyncError(id: Long) = call { it.discardSyncError(id) }

    // --- host inputs ----------------------------------------------------------------

    /** The OS's network state (Android: `ConnectivityBridge` calls this). */
    fun setHostNetwork(online: Boolean, metered: Boolean = false) = call { it.setHostNetwork(online, metered) }

    fun setWifiOnly(on: Boolean) = call { it.setWifiOnly(on) }

    /** App to the background: stops the running sync. */
    fun pause() = call { it.pause() }

    /** App to the foreground: checks the server and syncs what is due. */
    fun resume() = call { it.resume() }

    // --- end ----------------------------------------------------------------------------

    /**
     * Deletes this account's local data. With changes not on the server and
     * [discardPending] false, throws `MooringException.PendingChanges(count)` and
     * deletes nothing: show the count, confirm, call again with true. Closes this object.
     */
    suspend fun signOut(discardPending: Boolean) {
        call { it.signOut(discardPending) }
        close()
    }

    /** Stops sync and waits for the running job to stop, then [close]s. */
    suspend fun shutdown() {
        if (!closed.get()) call { it.shutdown() }
        close()
    }

    /**
     * Stops every listener (their Flows complete), stops sync and releases the
     * native object. Idempotent; afterwards every call throws `MooringException.Closed`.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        for ((handle, channel) in listeners) {
            release(handle)
            channel.close()
        }
        app.close() // drops the Rust object once calls in flight return; its Drop stops the runner
    }

    // --- internals ---------------------------------------------------------------------

    private inline fun <T> call(block: (MooringApp) -> T): T {
        if (closed.get()) throw MooringException.Closed()
        try {
            return block(app)
        } catch (e: IllegalStateException) {
            // uniffi's "object has already been destroyed": close() raced this call.
            if (closed.get()) throw MooringException.Closed()
            throw e
        }
    }

    private fun register(handle: TaskHandle, channel: SendChannel<*>) {
        listeners[handle] = channel
        if (closed.get()) { // close() ran while this listener was being registered
            release(handle)
            channel.close()
        }
    }

    private fun release(handle: TaskHandle) {
        if (listeners.remove(handle) == null) return // released already (close() and awaitClose both come here)
        handle.cancel() // no callback after this returns
        handle.close()
    }

    /** The host's provider as the generated trait; its exceptions become a reason without their message. */
    private class TokenAdapter(private val inner: AccessTokenProvider) : TokenProvider {
        override suspend fun token(forceRefresh: Boolean): String = try {
            inner.token(forceRefresh)
        } catch (e: CancellationException) {
            throw e // Rust dropped the request (closed, cancelled): not a failure to report
        } catch (e: Exception) {
            throw TokenException.Failed("the host's token provider threw ${e::class.simpleName}")
        }
    }
}
