// The Swift face of Mooring: one object per signed-in account, async
// functions over the uniffi bindings, errors as the `MooringError` enum,
// status and rows as AsyncStreams that stop the Rust listener when they end.
import Foundation
@_exported import MooringFFI

/// The local mirror of one account's Dataverse data, synced in the
/// background. Reads and writes work offline; writes upload when the server
/// is reachable. Safe to share between tasks and actors.
public final class MooringClient: Sendable {
    /// The generated object, for anything this layer does not wrap.
    public let app: MooringApp

    init(app: MooringApp) {
        self.app = app
    }

    /// Opens (or creates) the account's mirror and starts syncing. Works
    /// offline. `encryption` has no default on purpose: pass a key (or a
    /// provider such as `KeychainKeyProvider`) or opt out explicitly with
    /// `.unencrypted`.
    /// `tokens` is async, as MSAL's `acquireTokenSilent` is: awaiting a
    /// refresh holds no thread, and every other call goes on meanwhile.
    /// `forceRefresh` means the last token was refused; Mooring asks for
    /// one refresh at a time, and gives up on an answer that takes over
    /// 60 s (asking again at the next sync). A synchronous closure works too.
    public static func open(
        _ configuration: Configuration,
        encryption: Encryption,
        tokens: @escaping @Sendable (_ forceRefresh: Bool) async throws -> String
    ) async throws(MooringError) -> MooringClient {
        try await open(configuration, encryption: encryption, tokenProvider: ClosureTokenProvider(tokens))
    }

    /// The same with the generated `TokenProvider` protocol implemented by the app.
    public static func open(
        _ configuration: Configuration,
        encryption: Encryption,
        tokenProvider: any TokenProvider
    ) async throws(MooringError) -> MooringClient {
        let key = try encryption.resolveKey(account: configuration.account)
        let config = configuration.appConfig(encryptionKey: key)
        let app = try await mapErrors { try await MooringApp.open(config: config, tokens: tokenProvider) }
        return MooringClient(app: app)
    }

    // MARK: Reads

    public func get(_ table: String, id: String) async throws(MooringError) -> [String: Value]? {
        try await mapErrors { try await app.get(table: table, id: id) }
    }

    public func query(_ query: Query) async throws(MooringError) -> [[String: Value]] {
        try await mapErrors { try await app.query(query: query) }
    }

    /// The rows matching `query` now, then again each time they change.
    /// Ending the iteration (or cancelling its task) stops the Rust watch.
    public func rows(_ query: Query) -> AsyncThrowingStream<[[String: Value]], any Error> {
        AsyncThrowingStream { continuation in
            let forwarder = RowsForwarder(continuation)
            let app = self.app
            let start = Task {
                do {
                    let handle = try await app.watch(query: query, listener: forwarder)
                    forwarder.handles.set(handle)
                } catch {
                    continuation.finish(throwing: MooringError.from(error))
                }
            }
            continuation.onTermination = { _ in
                start.cancel()
                forwarder.handles.end()
            }
        }
    }

    /// One read-only SQL statement over the mirror's tables (joins,
    /// aggregates), local changes included, with `?` parameters. Tables and
    /// columns are the profile's logical names. A write, a PRAGMA, one of
    /// Mooring's own tables or bad SQL throws `.SqlRefused`.
    public func sql(_ sql: String, _ params: [Value] = []) async throws(MooringError) -> SqlRows {
        try await mapErrors { try await app.sql(sql: sql, params: params) }
    }

    /// The SQL read's result now, then again each time a write to a table it
    /// reads changes it (Rust re-runs it at most every 50 ms). Ending the
    /// iteration (or cancelling its task) stops the Rust watch.
    public func sqlRows(_ sql: String, _ params: [Value] = []) -> AsyncThrowingStream<SqlRows, any Error> {
        AsyncThrowingStream { continuation in
            let forwarder = SqlForwarder(continuation)
            let app = self.app
            let start = Task {
                do {
                    let handle = try await app.watchSql(sql: sql, params: params, listener: forwarder)
                    forwarder.handles.set(handle)
                } catch {
                    continuation.finish(throwing: MooringError.from(error))
                }
            }
            continuation.onTermination = { _ in
                start.cancel()
                forwarder.handles.end()
            }
        }
    }

    // MARK: Writes (local at once, uploaded when reachable)

    /// Returns the new row's id (a GUID).
    @discardableResult
    public func create(_ table: String, values: [String: Value]) async throws(MooringError) -> String {
        try await mapErrors { try await app.create(table: table, values: values) }
    }

    public func update(_ table: String, id: String, values: [String: Value]) async throws(MooringError) {
        try await mapErrors { try await app.update(table: table, id: id, values: values) }
    }

    public func delete(_ table: String, id: String) async throws(MooringError) {
        try await mapErrors { try await app.delete(table: table, id: id) }
    }

    /// Several writes as one. `body` lists them on the handle; when it
    /// returns they reach the mirror and the outbox together, or not at all
    /// (the first refused write throws its error and cancels all of them),
    /// and they upload as one Dataverse `$batch` change set, which the server
    /// applies whole or not at all. A refused transaction is one entry of
    /// `syncErrors()`. A create returns its new GUID at once, so later writes
    /// can point at the row:
    ///
    /// ```swift
    /// let contact = try await client.writeTransaction { tx in
    ///     let account = tx.create("accounts", values: ["name": .text(value: "Fabrikam")])
    ///     return tx.create("contacts", values: [
    ///         "lastname": .text(value: "Ito"), "parentcustomerid": .text(value: account),
    ///     ])
    /// }
    /// ```
    /// `body` runs before anything is written: reads inside it do not see its writes.
    public func writeTransaction<T>(_ body: (WriteTransaction) throws -> T) async throws -> T {
        let tx = WriteTransaction()
        let result = try body(tx)
        let ops = tx.ops
        _ = try await mapErrors { try await app.writeTransaction(ops: ops) }
        return result
    }

    /// Changes waiting for upload.
    public func pendingCount() async throws(MooringError) -> UInt64 {
        try await mapErrors { try await app.pendingCount() }
    }

    /// The changes waiting for upload, oldest first: table, row, action,
    /// columns (no values), since when.
    public func pendingChanges(limit: UInt32 = 100) async throws(MooringError) -> [PendingChangeInfo] {
        try await mapErrors { try await app.pendingChanges(limit: limit) }
    }

    /// "3 changes waiting for 2 h: no connection" (English); nil when nothing waits.
    public func pendingSummary() async throws(MooringError) -> String? {
        try await mapErrors { try await app.pendingSummary() }
    }

    public func syncErrors() async throws(MooringError) -> [SyncErrorInfo] {
        try await mapErrors { try await app.syncErrors() }
    }

    public func retrySyncError(_ id: Int64) async throws(MooringError) {
        try await mapErrors { try await app.retrySyncError(id: id) }
    }

    public func discardSyncError(_ id: Int64) async throws(MooringError) {
        try await mapErrors { try await app.discardSyncError(id: id) }
    }

    // MARK: Sync

    /// Returns when that run ended (or throws why it could not run).
    public func syncNow() async throws(MooringError) {
        try await mapErrors { try await app.syncNow() }
    }

    public func uploadNow() async throws(MooringError) {
        try await mapErrors { try await app.uploadNow() }
    }

    /// The diagnostics report, as text for the user to share with support
    /// (a `ShareLink`): versions, profile, per-table sync state, outbox,
    /// sync error codes, recent status changes, sync runs and logs. No
    /// token, key or row value in it.
    public func diagnostics() async throws(MooringError) -> String {
        try await mapErrors { try await app.diagnostics() }
    }

    /// Asks for a sync without waiting for it.
    public func requestSync() { app.requestSync() }

    /// The current status.
    public var status: SyncStatus { app.status() }

    /// The current status first, then every change in order. Ending the
    /// iteration (break, task cancelled, stream released) cancels the Rust
    /// listener.
    public func statusUpdates() -> AsyncStream<SyncStatus> {
        statusUpdatesAndHandle().stream
    }

    /// `statusUpdates()` plus the Rust handle, so tests can see it cancelled.
    func statusUpdatesAndHandle() -> (stream: AsyncStream<SyncStatus>, handle: TaskHandle?) {
        var handle: TaskHandle?
        let stream = AsyncStream<SyncStatus>(bufferingPolicy: .unbounded) { continuation in
            do {
                let h = try app.observeStatus(listener: StatusForwarder(continuation))
                handle = h
                continuation.onTermination = { _ in h.cancel() }
            } catch {
                continuation.finish()
            }
        }
        return (stream, handle)
    }

    // MARK: Host inputs

    /// From NWPathMonitor (see `HostNetworkBridge`).
    public func setHostNetwork(online: Bool, metered: Bool) {
        app.setHostNetwork(online: online, metered: metered)
    }

    public func setWifiOnly(_ on: Bool) { app.setWifiOnly(on: on) }

    /// The app went to the background: stops the running sync.
    public func pause() { app.pause() }

    /// The app came to the foreground: probes and syncs.
    public func resume() { app.resume() }

    /// Stops sync and listeners; reads keep working until released.
    public func shutdown() async { await app.shutdown() }

    /// The same as `shutdown()`, under the name Swift code looks for.
    public func close() async { await shutdown() }

    /// Returns once the first sync has completed (at once if it had), with
    /// that status: for a launch screen that waits for data. Offline on a
    /// first launch it waits for a connection; cancelling the task stops the
    /// wait and throws `.Closed`, as does a client closed meanwhile.
    public func awaitFirstSync() async throws(MooringError) -> SyncStatus {
        if status.initialSyncComplete { return status }
        for await s in statusUpdates() where s.initialSyncComplete {
            return s
        }
        throw MooringError.Closed
    }

    /// Deletes this account's mirror. With changes not on the server and
    /// `discardPending == false` it throws `.PendingChanges(count:)` and
    /// deletes nothing: show the count, confirm, call again with `true`.
    public func signOut(discardPending: Bool) async throws(MooringError) {
        try await mapErrors { try await app.signOut(discardPending: discardPending) }
    }
}

/// Runs a generated call, keeping its `MooringError` and wrapping anything
/// else (there should be nothing else) as `.Internal`.
func mapErrors<T>(_ body: () async throws -> T) async throws(MooringError) -> T {
    do {
        return try await body()
    } catch {
        throw MooringError.from(error)
    }
}

extension MooringError {
    static func from(_ error: any Error) -> MooringError {
        if let e = error as? MooringError { return e }
        return .Internal(reason: String(describing: type(of: error)))
    }
}

/// The writes of one `MooringClient.writeTransaction`: collected here, then
/// applied by the core in one SQLite transaction and uploaded as one change set.
public final class WriteTransaction {
    fileprivate(set) var ops: [WriteOp] = []

    fileprivate init() {}

    /// Creates a row; returns its new GUID, usable in later writes.
    @discardableResult
    public func create(_ table: String, values: [String: Value]) -> String {
        let id = UUID().uuidString.lowercased()
        ops.append(.create(table: table, id: id, values: values))
        return id
    }

    public func update(_ table: String, id: String, values: [String: Value]) {
        ops.append(.update(table: table, id: id, values: values))
    }

    public func delete(_ table: String, id: String) {
        ops.append(.delete(table: table, id: id))
    }
}
