// MooringClient against the real Rust library and a real emulator process.
import Foundation
import Testing
@testable import Mooring

// Every test here starts the emulator with `Process`: macOS and Linux only (Emulator.swift).
#if os(macOS) || os(Linux)

/// Runs `body`, failing after `seconds` instead of hanging the suite.
func withTimeout<T: Sendable>(
    _ seconds: Double, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            throw TimeoutError(what: "\(seconds) s")
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
}

func open(_ emulator: Emulator, dir: URL, hostOnline: Bool = true) async throws -> MooringClient {
    let token = emulator.token
    return try await MooringClient.open(
        testConfiguration(emulator, dir: dir, hostOnline: hostOnline),
        encryption: .key("swift-test-key"),
        tokens: { _ in token }
    )
}

func waitForStatus(
    _ client: MooringClient, _ what: String, _ ok: @escaping (SyncStatus) -> Bool
) async throws {
    try await eventually(what) { ok(client.status) }
}

func text(_ s: String) -> Value { .text(value: s) }

@Suite(.serialized)
struct ClientTests {
    @Test func initialSyncWhileIteratingTheStatusStreamThenReadsAndQuery() async throws {
        let emulator = try Emulator(seedRows: 40)
        let client = try await open(emulator, dir: try temporaryDirectory())

        struct Seen: Sendable {
            var icons: [SyncIcon] = []
            var rowsDone: [UInt64] = []
            var rowsTotal: UInt64 = 0
            var tablesTotal: UInt32 = 0
            var tablesDone: UInt32 = 0
        }
        let seen = try await withTimeout(30) {
            var seen = Seen()
            for await status in client.statusUpdates() {
                if seen.icons.last != status.icon { seen.icons.append(status.icon) }
                if let p = status.progress {
                    seen.rowsDone.append(p.rowsDone)
                    seen.rowsTotal = p.rowsTotal
                    seen.tablesTotal = p.tablesTotal
                    seen.tablesDone = max(seen.tablesDone, p.tablesDone)
                }
                if status.icon == .connected && status.initialSyncComplete { break }
            }
            return seen
        }
        #expect(seen.icons.contains(.syncing), "icons: \(seen.icons)")
        #expect(seen.icons.last == .connected, "icons: \(seen.icons)")
        let syncing = seen.icons.firstIndex(of: .syncing) ?? .max
        #expect(syncing < seen.icons.count - 1, "syncing before connected: \(seen.icons)")
        #expect(seen.rowsTotal == 80, "40 accounts + 40 contacts")
        #expect(seen.tablesTotal == 2)
        #expect(seen.rowsDone == seen.rowsDone.sorted(), "rows done never go back: \(seen.rowsDone)")
        #expect(Set(seen.rowsDone).count > 2, "several progress steps: \(seen.rowsDone)")
        #expect(seen.rowsDone.last == 80, "up to the total: \(seen.rowsDone)")

        // Reads: a query with a filter, order and limit, then one row by id.
        let top = try await client.query(Query(
            table: "accounts",
            filters: [.isNotNull(column: "name")],
            order: [SortKey(column: "name", descending: true)],
            limit: 5, offset: nil))
        #expect(top.count == 5)
        let names = top.compactMap { row -> String? in
            if case .text(let v) = row["name"] { return v }
            return nil
        }
        #expect(names == names.sorted(by: >))
        let all = try await client.query(Query(table: "accounts", filters: [], order: [], limit: nil, offset: nil))
        #expect(all.count == 40)
        guard case .guid(let id) = top[0]["accountid"] else {
            Issue.record("no accountid in \(top[0].keys)")
            return
        }
        let one = try await client.get("accounts", id: id)
        #expect(one?["name"] == top[0]["name"])
        #expect(try await client.get("accounts", id: "00000000-0000-0000-0000-000000000001") == nil)
        await client.shutdown()
    }

    @Test func offlineWriteIsPendingThenUploaded() async throws {
        let emulator = try Emulator(seedRows: 5)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }

        client.setHostNetwork(online: false, metered: false)
        let id = try await client.create("accounts", values: ["name": text("Written offline"), "telephone1": text("555-0100")])
        #expect(!id.isEmpty)
        try await waitForStatus(client, "pending_upload") { $0.icon == .pendingUpload }
        #expect(client.status.pendingChanges == 1)
        #expect(client.status.messageKey == "status.pending_upload.offline")
        #expect(try await client.pendingCount() == 1)
        #expect(try await client.get("accounts", id: id)?["name"] == text("Written offline"))
        #expect(try await emulator.rows("accounts").allSatisfy { ($0["name"] as? String) != "Written offline" })

        client.setHostNetwork(online: true, metered: false)
        try await eventually("the server has the row") {
            try await emulator.rows("accounts").contains { ($0["accountid"] as? String)?.lowercased() == id.lowercased() }
        }
        try await waitForStatus(client, "connected after upload") { $0.icon == .connected }
        #expect(try await client.pendingCount() == 0)
        await client.shutdown()
    }

    @Test func aChangeTheServerRejectsBecomesASyncError() async throws {
        let emulator = try Emulator(seedRows: 5)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        let rows = try await client.query(Query(table: "accounts", filters: [], order: [], limit: 1, offset: nil))
        guard case .guid(let id) = rows.first?["accountid"] else {
            Issue.record("no account")
            return
        }

        // Offline: edit a row that another user deletes on the server meanwhile.
        client.setHostNetwork(online: false, metered: false)
        try await client.update("accounts", id: id, values: ["name": text("Edited offline")])
        try await emulator.admin("DELETE", "rows/accounts/\(id)")
        client.setHostNetwork(online: true, metered: false)

        try await waitForStatus(client, "error icon") { $0.icon == .error }
        let status = client.status
        #expect(status.syncErrors == 1)
        #expect(status.messageKey == "status.error.sync_errors")
        let errors = try await client.syncErrors()
        #expect(errors.count == 1)
        #expect(errors.first?.rowId.lowercased() == id.lowercased())
        #expect(errors.first?.action == .update)
        #expect(errors.first?.kind == .recordNotFound)
        #expect(errors.first?.httpStatus == 404)
        // What the user shares with support: the error by its code, never
        // the row's values.
        let report = try await client.diagnostics()
        #expect(report.contains("## Sync errors (1)"))
        #expect(report.contains("HTTP 404"))
        #expect(!report.contains(emulator.token))
        #expect(!report.contains("swift-test-key"))

        try await client.discardSyncError(errors[0].id)
        try await waitForStatus(client, "connected after discard") { $0.icon == .connected }
        await client.shutdown()
    }

    @Test func badInputThrowsTypedErrors() async throws {
        let emulator = try Emulator(seedRows: 2)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }

        do {
            _ = try await client.query(Query(table: "no_such_table", filters: [], order: [], limit: nil, offset: nil))
            Issue.record("query of an unknown table succeeded")
        } catch {
            // `error` is a MooringError (typed throws): a switch, no cast.
            guard case .Validation = error else {
                Issue.record("expected Validation, got \(error)")
                return
            }
        }
        do {
            try await client.create("accounts", values: ["numberofemployees": .real(value: .nan)])
            Issue.record("NaN accepted")
        } catch {
            guard case .Validation = error else {
                Issue.record("expected Validation, got \(error)")
                return
            }
        }
        let dir = try temporaryDirectory()
        do {
            _ = try await MooringClient.open(
                testConfiguration(emulator, dir: dir), encryption: .key(""),
                tokens: { _ in "x" })
            Issue.record("an empty key was accepted")
        } catch {
            guard case .Validation(let field, _) = error else {
                Issue.record("expected Validation, got \(error)")
                return
            }
            #expect(field == "encryption_key")
        }
        await client.shutdown()
    }

    @Test func theWrongKeyIsATypedError() async throws {
        let emulator = try Emulator(seedRows: 2)
        let dir = try temporaryDirectory()
        do {
            let client = try await open(emulator, dir: dir, hostOnline: false)
            await client.shutdown()
        }
        do {
            let token = emulator.token
            _ = try await MooringClient.open(
                testConfiguration(emulator, dir: dir, hostOnline: false), encryption: .key("another-key"),
                tokens: { _ in token })
            Issue.record("opened with the wrong key")
        } catch {
            guard case .WrongKey = error else {
                Issue.record("expected WrongKey, got \(error)")
                return
            }
        }
    }

    @Test func endingTheStatusStreamEarlyCancelsTheRustListener() async throws {
        let emulator = try Emulator(seedRows: 2)
        let client = try await open(emulator, dir: try temporaryDirectory(), hostOnline: false)
        // Breaking out of the loop ends the stream once nothing holds it any
        // more (AsyncStream's rule): the stream lives only in this block.
        let h: TaskHandle
        do {
            let (stream, handle) = client.statusUpdatesAndHandle()
            h = try #require(handle)
            #expect(!h.isCancelled())
            try await withTimeout(10) {
                for await status in stream {
                    #expect(status.icon == .warning || status.icon == .notConnected)
                    break // the first value came at once
                }
            }
        }
        try await eventually("breaking out of the loop cancels the TaskHandle") { h.isCancelled() }

        // A consumer task cancelled while waiting ends it too.
        let (stream2, handle2) = client.statusUpdatesAndHandle()
        let h2 = try #require(handle2)
        let consumer = Task {
            var n = 0
            for await _ in stream2 { n += 1 }
            return n
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        consumer.cancel()
        let count = await consumer.value
        #expect(count >= 1)
        try await eventually("handle cancelled") { h2.isCancelled() }
        await client.shutdown()
    }

    @Test func rowsStreamFollowsLocalWrites() async throws {
        let emulator = try Emulator(seedRows: 3)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        let query = Query(table: "accounts", filters: [], order: [], limit: nil, offset: nil)
        let counts = try await withTimeout(20) {
            var counts: [Int] = []
            for try await rows in client.rows(query) {
                counts.append(rows.count)
                if counts.count == 1 {
                    try await client.create("accounts", values: ["name": text("Watched")])
                }
                if rows.count == 4 { break }
            }
            return counts
        }
        #expect(counts.first == 3)
        #expect(counts.last == 4)
        await client.shutdown()
    }

    @Test func awaitFirstSyncReturnsWhenTheDataIsThereThenClose() async throws {
        let emulator = try Emulator(seedRows: 12)
        let client = try await open(emulator, dir: try temporaryDirectory())
        let done = try await withTimeout(30) { try await client.awaitFirstSync() }
        #expect(done.initialSyncComplete)
        let query = Query(table: "accounts", filters: [], order: [], limit: nil, offset: nil)
        #expect(try await client.query(query).count == 12)
        #expect(try await client.awaitFirstSync().initialSyncComplete)
        await client.close()
    }

    @Test func sqlJoinRefusalsAndAStreamOverTheJoin() async throws {
        let emulator = try Emulator(seedRows: 3)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        let account = try await client.create("accounts", values: ["name": text("Swift SQL Harbour")])
        try await client.create(
            "contacts", values: ["lastname": text("Swift Quayside"), "parentcustomerid": text(account)])
        let join = "SELECT a.name AS account, c.lastname FROM accounts a "
            + "JOIN contacts c ON c.parentcustomerid = a.accountid WHERE a.name = ? ORDER BY c.lastname"
        let rows = try await client.sql(join, [text("Swift SQL Harbour")])
        #expect(rows.columns == ["account", "lastname"])
        #expect(rows.rows.count == 1)
        if case .text(let last) = rows.rows.first?.last {
            #expect(last == "Swift Quayside")
        } else {
            Issue.record("a text last name expected: \(rows.rows)")
        }
        do {
            _ = try await client.sql("UPDATE accounts SET name = 'x'")
            Issue.record("a write was not refused")
        } catch {
            guard case .SqlRefused(let refusal, _) = error else {
                Issue.record("expected SqlRefused, got \(error)")
                return
            }
            #expect(refusal == .write)
        }
        let counts = try await withTimeout(20) {
            var counts: [Int] = []
            for try await result in client.sqlRows(join, [text("Swift SQL Harbour")]) {
                counts.append(result.rows.count)
                if counts.count == 1 {
                    try await client.create(
                        "contacts", values: ["lastname": text("Swift Second"), "parentcustomerid": text(account)])
                }
                if result.rows.count == 2 { break }
            }
            return counts
        }
        #expect(counts.first == 1)
        #expect(counts.last == 2)
        await client.shutdown()
    }

    @Test func logRecordsReachTheAppsOwnLoggerWithoutTheToken() async throws {
        final class Collected: @unchecked Sendable {
            private let lock = NSLock()
            private var records: [LogRecord] = []
            func add(_ r: LogRecord) { lock.lock(); records.append(r); lock.unlock() }
            var all: [LogRecord] { lock.lock(); defer { lock.unlock() }; return records }
        }
        let collected = Collected()
        MooringLog.route { collected.add($0) }
        defer { MooringLog.stopRouting() }
        let emulator = try Emulator(seedRows: 3)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        let records = collected.all
        #expect(records.contains { $0.target.hasPrefix("mooring_core") && $0.level == .info })
        #expect(!records.contains { $0.message.contains(emulator.token) })
        await client.shutdown()
    }

    @Test func signOutRefusesWithPendingChangesThenWipes() async throws {
        let emulator = try Emulator(seedRows: 2)
        let dir = try temporaryDirectory()
        let client = try await open(emulator, dir: dir)
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        client.setHostNetwork(online: false, metered: false)
        _ = try await client.create("accounts", values: ["name": text("Not uploaded")])
        #expect(try await client.pendingCount() == 1)
        let waiting = try await client.pendingChanges()
        #expect(waiting.count == 1)
        #expect(waiting.first?.table == "accounts" && waiting.first?.action == .create)
        #expect(waiting.first?.columns == ["name"])
        #expect(waiting.first?.waiting == .offline)
        let summary = try await client.pendingSummary()
        #expect(summary?.hasPrefix("1 change waiting for ") == true && summary?.hasSuffix(": no connection") == true)
        do {
            try await client.signOut(discardPending: false)
            Issue.record("sign-out with a pending change succeeded")
        } catch {
            guard case .PendingChanges(let count) = error else {
                Issue.record("expected PendingChanges, got \(error)")
                return
            }
            #expect(count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).contains { $0.hasSuffix(".db") })
        try await client.signOut(discardPending: true)
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(left.isEmpty, "files left: \(left)")
        do {
            _ = try await client.pendingCount()
            Issue.record("a call after sign-out succeeded")
        } catch {
            guard case .Closed = error else {
                Issue.record("expected Closed, got \(error)")
                return
            }
        }
    }

    @Test func anAsyncTokenProviderRefreshesOnceWhileReadsAndWritesGoOn() async throws {
        let emulator = try Emulator(seedRows: 20)
        let gate = RefreshGate()
        let token = emulator.token
        let client = try await MooringClient.open(
            testConfiguration(emulator, dir: try temporaryDirectory()),
            encryption: .key("swift-test-key"),
            tokens: { force in
                if force { await gate.refresh() }  // MSAL over a slow network
                return token
            })
        _ = try await withTimeout(60) { try await client.awaitFirstSync() }
        await gate.close()
        _ = try await emulator.admin("POST", "revoke-token", ["on": true])
        let first = try await client.create("accounts", values: ["name": text("Swift during refresh 1")])
        try await eventually("the upload met the revoked token and asked for a refresh") {
            await gate.refreshes == 1
        }
        // The provider is suspended in its refresh: every local call answers meanwhile.
        let second = try await client.create("accounts", values: ["name": text("Swift during refresh 2")])
        #expect(try await client.get("accounts", id: first)?["name"] == text("Swift during refresh 1"))
        #expect(try await client.pendingCount() == 2)

        _ = try await emulator.admin("POST", "revoke-token", ["on": false])
        await gate.open()
        try await withTimeout(30) { try await client.uploadNow() }
        let ids = try await emulator.rows("accounts").compactMap { ($0["accountid"] as? String)?.lowercased() }
        #expect(ids.contains(first.lowercased()) && ids.contains(second.lowercased()))
        #expect(await gate.refreshes == 1, "one refresh for every request that met the refused token")
        await client.close()
    }
}

/// A token refresh that finishes when the test says (MSAL over a slow network).
actor RefreshGate {
    private(set) var refreshes = 0
    private var closed = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func close() { closed = true }

    func open() {
        closed = false
        for c in waiting { c.resume() }
        waiting = []
    }

    func refresh() async {
        refreshes += 1
        if closed { await withCheckedContinuation { waiting.append($0) } }
    }
}
#endif
