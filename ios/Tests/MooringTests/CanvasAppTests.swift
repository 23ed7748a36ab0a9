// Configuration.Schema.fromCanvasApp / CanvasAppProfile.generate against the
// real library: the project's own small canvas app (the folder
// canvas/tests/fixtures, given in $MOORING_CANVAS_FIXTURES by
// scripts/test-swift) gives the tables and columns its formulas use and
// syncs from a real emulator; a broken app throws the typed error.
import Foundation
import Testing
@testable import Mooring

#if os(macOS) || os(Linux)

func canvasFixture(_ name: String) -> String {
    let root = ProcessInfo.processInfo.environment["MOORING_CANVAS_FIXTURES"] ?? "../canvas/tests/fixtures"
    return URL(fileURLWithPath: root).appendingPathComponent(name).path
}

@Suite(.serialized)
struct CanvasAppTests {
    @Test func theTablesColumnsAndRowsTheFormulasUse() throws {
        let app = try CanvasAppProfile.generate(path: canvasFixture("unpack-sales"))
        #expect(app.tables.map(\.appName) == ["Accounts", "Contacts"])
        #expect(app.tables.map(\.entitySet) == ["accounts", "contacts"])
        #expect(app.tables[0].columns == ["name", "ownerid", "telephone1"])
        #expect(app.tables[1].columns == ["firstname", "lastname", "parentcustomerid"])
        // Owner = User(): the user's accounts and those kept contacts point at.
        #expect(app.tables[0].rows == CanvasRows(all: false, owned: true, filter: nil, related: true))
        // 'Last Name' <> "" is evaluated on the device.
        #expect(app.tables[1].rows.filter == "lastname ne ''")
        #expect(!app.warnings.contains { $0.kind == .unresolved })
        #expect(app.explanation.contains("table Accounts (account, entity set accounts): read"))
    }

    @Test func aFormulaThatDoesNotParseThrowsCanvasAppWithItsPlace() throws {
        let dir = try temporaryDirectory()
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("Src"), withIntermediateDirectories: true)
        let source = "App As appinfo:\n    OnStart: =Set(a, 1)\n\n\"'S' As screen\":\n    g As gallery:\n"
            + "        Items: |-\n            =Filter(T,\n                a = )\n"
        try source.write(to: dir.appendingPathComponent("Src/App.fx.yaml"), atomically: true, encoding: .utf8)
        do {
            _ = try Configuration.Schema.fromCanvasApp(path: dir.path)
            Issue.record("a broken app gave a profile")
        } catch .CanvasApp(let file, let line, let column, let reason) {
            #expect(file == "Src/App.fx.yaml")
            #expect(line == 8)
            #expect(column == 21)
            #expect(reason.contains("g.Items: expected a value"))
        } catch {
            Issue.record("expected CanvasApp, got \(error)")
        }
    }

    @Test func theGeneratedProfileSyncsTheRowsTheFormulasNeed() async throws {
        let emulator = try Emulator(seedRows: 40)
        var config = testConfiguration(emulator, dir: try temporaryDirectory())
        config.schema = try Configuration.Schema.fromCanvasApp(path: canvasFixture("unpack-sales"))
        let token = emulator.token
        let client = try await MooringClient.open(config, encryption: .unencrypted, tokens: { _ in token })
        try await waitForStatus(client, "the first sync") { $0.icon == .connected && $0.initialSyncComplete }
        let contacts = try await client.query(Query(table: "contacts", filters: [], order: [], limit: nil, offset: nil))
        #expect(!contacts.isEmpty)
        #expect(contacts.allSatisfy { row in
            if case .text(let name)? = row["lastname"] { return !name.isEmpty }
            return false
        })
        let accounts = try await client.query(Query(table: "accounts", filters: [], order: [], limit: nil, offset: nil))
        #expect(!accounts.isEmpty)
        // The columns the formulas use; City is in the data source, in no formula.
        #expect(accounts.allSatisfy { $0["name"] != nil && $0["address1_city"] == nil })
        await client.shutdown()
    }
}

#endif
