// Typed rows in Swift against the real library and emulator: every column
// type of the emulator's new_inspections table decoded into a Decodable
// struct, before and after the upload; a mismatch is a
// DecodingError.typeMismatch whose coding path names the column.
import Foundation
import Testing
@testable import Mooring

#if os(macOS) || os(Linux)

let typedProfile = """
{"tables":[
  {"name":"accounts","columns":["name"],"rows":"all"},
  {"name":"new_inspections","columns":["new_name","new_score","new_cost","new_ratio","new_passed",
    "new_inspectedon","new_duedate","new_result","new_findings","new_reference","new_siteid","statecode"],
   "rows":"all"}]}
"""

enum Outcome: String, Decodable, Equatable {
    case pass = "Pass", minorIssues = "Minor issues", fail = "Fail"
}

struct Inspection: Decodable, Equatable {
    let id: UUID
    let name: String
    let score: Int?
    let cost: Decimal?
    let ratio: Double?
    let passed: Bool?
    let inspectedOn: Date?
    let due: DateComponents?
    let result: Choice?
    let outcome: Outcome?
    let findings: [Choice]?
    let findingValues: [Int]?
    let reference: UUID?
    let site: Lookup?
    let state: Choice?

    enum CodingKeys: String, CodingKey {
        case id = "new_inspectionid", name = "new_name", score = "new_score", cost = "new_cost"
        case ratio = "new_ratio", passed = "new_passed", inspectedOn = "new_inspectedon"
        case due = "new_duedate", result = "new_result", findings = "new_findings"
        case reference = "new_reference", site = "new_siteid", state = "statecode"
        case outcome = "outcome_alias", findingValues = "findings_alias"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(UUID.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        score = try c.decodeIfPresent(Int.self, forKey: .score)
        cost = try c.decodeIfPresent(Decimal.self, forKey: .cost)
        ratio = try c.decodeIfPresent(Double.self, forKey: .ratio)
        passed = try c.decodeIfPresent(Bool.self, forKey: .passed)
        inspectedOn = try c.decodeIfPresent(Date.self, forKey: .inspectedOn)
        due = try c.decodeIfPresent(DateComponents.self, forKey: .due)
        result = try c.decodeIfPresent(Choice.self, forKey: .result)
        // The same columns again as an enum by label and as plain values.
        outcome = try c.decodeIfPresent(Outcome.self, forKey: .result)
        findings = try c.decodeIfPresent([Choice].self, forKey: .findings)
        findingValues = try c.decodeIfPresent([Int].self, forKey: .findings)
        reference = try c.decodeIfPresent(UUID.self, forKey: .reference)
        site = try c.decodeIfPresent(Lookup.self, forKey: .site)
        state = try c.decodeIfPresent(Choice.self, forKey: .state)
    }
}

struct WrongKind: Decodable {
    let new_name: Date
}

@Suite(.serialized)
struct TypedRowTests {
    func inspections(_ name: String) -> Query {
        Query(table: "new_inspections", filters: [.eq(column: "new_name", value: .text(value: name))],
              order: [], limit: nil, offset: nil)
    }

    func openTyped(_ emulator: Emulator) async throws -> MooringClient {
        let token = emulator.token
        return try await MooringClient.open(
            testConfiguration(emulator, dir: try temporaryDirectory(), profile: typedProfile),
            encryption: .key("swift-test-key"),
            tokens: { _ in token }
        )
    }

    @Test func everyColumnTypeDecodesAsItsSwiftTypeBeforeAndAfterTheUpload() async throws {
        let emulator = try Emulator(seedRows: 20)
        let client = try await openTyped(emulator)
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        let site = try await client.query(Query(table: "accounts", filters: [], order: [], limit: 1, offset: nil))[0]
        guard case .guid(let siteId) = site["accountid"], case .text(let siteName) = site["name"] else {
            Issue.record("no account: \(site)")
            return
        }
        let reference = UUID()
        client.setHostNetwork(online: false, metered: false)
        try await client.create("new_inspections", values: [
            "new_name": .text(value: "Pump room"),
            "new_score": .integer(value: 87),
            "new_cost": .real(value: 1250.75),
            "new_ratio": .real(value: 0.875),
            "new_passed": .bool(value: false),
            "new_inspectedon": .dateTime(epochMillis: 1_796_049_910_000),
            "new_duedate": .date(year: 2027, month: 1, day: 31),
            "new_result": .choice(value: 100_000_002, label: nil),
            "new_findings": .choices(values: [ChoiceValue(value: 3, label: nil), ChoiceValue(value: 1, label: nil)]),
            "new_reference": .guid(value: reference.uuidString),
            "new_siteid": .lookup(id: siteId, table: nil, name: nil),
        ])
        let local = try await client.query(inspections("Pump room"), as: Inspection.self)
        #expect(local.count == 1)
        let one = try #require(local.first)
        #expect(one.name == "Pump room")
        #expect(one.score == 87)
        #expect(one.cost == Decimal(string: "1250.75"))
        #expect(one.ratio == 0.875)
        #expect(one.passed == false)
        #expect(one.inspectedOn == Date(timeIntervalSince1970: 1_796_049_910))
        #expect(one.due == DateComponents(year: 2027, month: 1, day: 31))
        #expect(one.result == Choice(value: 100_000_002, label: "Fail"), "the label from the server's metadata")
        #expect(one.outcome == .fail)
        #expect(one.findings == [Choice(value: 3, label: "Wiring"), Choice(value: 1, label: "Corrosion")])
        #expect(one.findingValues == [3, 1])
        #expect(one.reference == reference)
        #expect(one.site == Lookup(id: siteId, table: "accounts", name: siteName), "the lookup names the account")
        #expect(one.state == nil, "the server sets it")

        client.setHostNetwork(online: true, metered: false)
        try await eventually("the create is uploaded") { try await client.pendingCount() == 0 }
        let acked = try #require(try await client.query(inspections("Pump room"), as: Inspection.self).first)
        #expect(acked.state == Choice(value: 0, label: "Active"))
        #expect(acked.inspectedOn == one.inspectedOn && acked.due == one.due && acked.findings == one.findings)
        #expect(acked.site == one.site && acked.result == one.result && acked.cost == one.cost)

        // SQL reads give SQLite's kinds: text dates, option values as text.
        struct Slim: Decodable, Equatable {
            let new_name: String
            let new_inspectedon: Date
            let new_duedate: DateComponents
            let new_findings: [Int]
        }
        let viaSql = try await client.sql(
            "SELECT new_name, new_inspectedon, new_duedate, new_findings FROM new_inspections WHERE new_name = ?",
            [.text(value: "Pump room")], as: Slim.self)
        #expect(viaSql == [Slim(new_name: "Pump room", new_inspectedon: one.inspectedOn!,
                                new_duedate: DateComponents(year: 2027, month: 1, day: 31), new_findings: [3, 1])])
        await client.shutdown()
    }

    @Test func aColumnOfAnotherKindIsATypeMismatchNamingIt() async throws {
        let emulator = try Emulator(seedRows: 5)
        let client = try await openTyped(emulator)
        try await waitForStatus(client, "connected") { $0.icon == .connected && $0.initialSyncComplete }
        let q = Query(table: "new_inspections", filters: [], order: [], limit: 1, offset: nil)
        do {
            _ = try await client.query(q, as: WrongKind.self)
            Issue.record("decoded text as a Date")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["new_name"])
            #expect(context.debugDescription.contains("found text"), "\(context.debugDescription)")
        }
        struct Absent: Decodable { let nosuchcolumn: String }
        do {
            _ = try await client.query(q, as: Absent.self)
            Issue.record("decoded an absent column")
        } catch DecodingError.keyNotFound(let key, _) {
            #expect(key.stringValue == "nosuchcolumn")
        }
        await client.shutdown()
    }
}

#endif
