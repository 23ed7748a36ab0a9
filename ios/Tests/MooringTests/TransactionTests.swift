// writeTransaction against the real Rust library and a real emulator
// process: one change set on the server, a refused part leaves none of it
// there and is one sync error, a throwing body writes nothing.
import Foundation
import Testing
@testable import Mooring

#if os(macOS) || os(Linux)

struct AppChangedItsMind: Error {}

@Suite(.serialized)
struct TransactionTests {
    @Test func dependentCreatesUploadTogether() async throws {
        let emulator = try Emulator(seedRows: 5)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }

        let (account, contact) = try await client.writeTransaction { tx in
            let a = tx.create("accounts", values: ["name": text("Parent Co")])
            return (a, tx.create("contacts", values: ["lastname": text("Child"), "parentcustomerid": text(a)]))
        }
        let pending = try await client.pendingChanges()
        #expect(pending.map(\.rowId) == [account, contact])
        #expect(pending[0].transaction != nil && pending[0].transaction == pending[1].transaction)

        try await client.uploadNow()
        let contacts = try await emulator.rows("contacts")
        let row = contacts.first { ($0["contactid"] as? String)?.lowercased() == contact }
        #expect((row?["_parentcustomerid_value"] as? String)?.lowercased() == account)
        #expect(try await emulator.rows("accounts").contains { ($0["accountid"] as? String)?.lowercased() == account })
        #expect(try await client.pendingCount() == 0)
        await client.shutdown()
    }

    @Test func aRefusedPartIsOneSyncErrorAndNoneOfItOnTheServer() async throws {
        let emulator = try Emulator(seedRows: 5)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }

        let created = try await client.writeTransaction { tx in
            let a = tx.create("accounts", values: ["name": text("Fine Co")])
            // The emulator's name column takes 160 characters, as Dataverse's does.
            tx.create("accounts", values: ["name": text(String(repeating: "x", count: 500))])
            return a
        }
        try await client.uploadNow()
        try await waitForStatus(client, "error icon") { $0.icon == .error && $0.syncErrors == 1 }
        #expect(try await !emulator.rows("accounts").contains { ($0["accountid"] as? String)?.lowercased() == created })
        let errors = try await client.syncErrors()
        #expect(errors.count == 1)
        #expect(errors.first?.transaction.map(\.action) == [.create, .create])
        try await client.discardSyncError(errors[0].id)
        #expect(try await client.syncErrors().isEmpty)
        await client.shutdown()
    }

    @Test func aThrowingBodyOrARefusedWriteWritesNothing() async throws {
        let emulator = try Emulator(seedRows: 2)
        let client = try await open(emulator, dir: try temporaryDirectory())
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }

        await #expect(throws: AppChangedItsMind.self) {
            try await client.writeTransaction { tx in
                tx.create("accounts", values: ["name": text("Never written")])
                throw AppChangedItsMind()
            }
        }
        do {
            try await client.writeTransaction { tx in
                tx.create("accounts", values: ["name": text("Never written either")])
                tx.create("accounts", values: ["no_such_column": .integer(value: 1)])
            }
            Issue.record("a write to an unknown column was accepted")
        } catch let e as MooringError {
            guard case .Validation(let field, _) = e else {
                Issue.record("not a validation error: \(e)")
                return
            }
            #expect(field == "no_such_column")
        }
        #expect(try await client.pendingCount() == 0)
        let names = try await client.query(Query(table: "accounts", filters: [], order: [], limit: nil, offset: nil))
            .compactMap { row -> String? in if case .text(let n) = row["name"] { return n } else { return nil } }
        #expect(!names.contains { $0.hasPrefix("Never written") })
        await client.shutdown()
    }
}

#endif
