// The view model's published values for each of the six icons, from
// statuses built here, and from a real client's status stream.
import Foundation
import Testing
#if canImport(Observation) && !os(Linux)
import Observation
#endif
@testable import Mooring

func makeStatus(
    _ icon: SyncIcon, key: String, title: String, description: String,
    initialSyncComplete: Bool = true, progress: InitialSyncProgress? = nil,
    warnings: [StatusWarning] = [], pending: UInt64 = 0, errors: UInt64 = 0
) -> SyncStatus {
    SyncStatus(
        icon: icon, messageKey: key, title: title, description: description,
        canvas: .notConnected, connectivity: .reachable, phase: .idle,
        initialSyncComplete: initialSyncComplete, progress: progress,
        pendingChanges: pending, syncErrors: errors, warnings: warnings,
        blockingFailure: nil, lastSyncedAtMs: nil)
}

@MainActor
struct SyncStatusModelTests {
    @Test func beforeAnyStatusTheLoadingViewShows() {
        let model = SyncStatusModel()
        #expect(model.presentation == nil)
        #expect(model.showsInitialSync)
        #expect(model.icon == nil)
        #expect(model.symbolName == "icloud.slash")
    }

    @Test func eachOfTheSixIconsHasItsOwnSymbolAndLabel() {
        let cases: [(SyncIcon, String, String)] = [
            (.connected, "checkmark.icloud", "Sync: up to date"),
            (.notConnected, "icloud.slash", "Sync: not connected"),
            (.syncing, "arrow.triangle.2.circlepath.icloud", "Sync: syncing"),
            (.pendingUpload, "icloud.and.arrow.up", "Sync: changes waiting to upload"),
            (.error, "exclamationmark.icloud", "Sync: error, action needed"),
            (.warning, "exclamationmark.triangle", "Sync: warning"),
        ]
        let model = SyncStatusModel()
        for (icon, symbol, label) in cases {
            model.apply(makeStatus(icon, key: "status.test.\(icon)", title: "T \(icon)", description: "D \(icon)"))
            #expect(model.icon == icon)
            #expect(model.symbolName == symbol)
            #expect(model.accessibilityLabel == label)
            #expect(model.title == "T \(icon)")
            #expect(model.description == "D \(icon)")
            #expect(model.presentation?.messageKey == "status.test.\(icon)")
        }
        #expect(Set(cases.map(\.1)).count == 6)
        #expect(Set(cases.map(\.2)).count == 6)
    }

    @Test func connected() {
        let model = SyncStatusModel(status: makeStatus(
            .connected, key: "status.connected", title: "Up to date", description: "All changes are synced."))
        #expect(!model.showsInitialSync)
        #expect(model.progressFraction == nil)
        #expect(model.rowsText == nil && model.tablesText == nil && model.etaText == nil)
        #expect(!model.firstSyncNeedsConnection)
    }

    @Test func syncingTheInitialSyncShowsRowsTablesProgressAndETA() {
        let model = SyncStatusModel()
        model.apply(makeStatus(
            .syncing, key: "status.syncing.initial", title: "Downloading your data", description: "d",
            initialSyncComplete: false,
            progress: InitialSyncProgress(
                tablesDone: 1, tablesTotal: 4, rowsDone: 2500, rowsTotal: 10000, bytes: 1 << 20, etaSecs: 185)))
        #expect(model.showsInitialSync)
        #expect(model.progressFraction == 0.25)
        #expect(model.rowsText == "2,500 of 10,000 rows")
        #expect(model.tablesText == "1 of 4 tables")
        #expect(model.etaText == "About 3 minutes left")
        #expect(!model.firstSyncNeedsConnection)

        model.apply(makeStatus(
            .syncing, key: "status.syncing.initial", title: "t", description: "d", initialSyncComplete: false,
            progress: InitialSyncProgress(
                tablesDone: 0, tablesTotal: 4, rowsDone: 0, rowsTotal: 0, bytes: 0, etaSecs: nil)))
        #expect(model.progressFraction == 0, "no row totals yet: tables")
        #expect(model.etaText == nil)
        model.apply(makeStatus(
            .syncing, key: "status.syncing.initial", title: "t", description: "d", initialSyncComplete: false,
            progress: InitialSyncProgress(
                tablesDone: 4, tablesTotal: 4, rowsDone: 1_234_567, rowsTotal: 1_234_567, bytes: 0, etaSecs: 20)))
        #expect(model.progressFraction == 1)
        #expect(model.rowsText == "1,234,567 of 1,234,567 rows")
        #expect(model.etaText == "Less than a minute left")
    }

    @Test func pendingUpload() {
        let model = SyncStatusModel(status: makeStatus(
            .pendingUpload, key: "status.pending_upload.offline", title: "Changes waiting", description: "3 changes",
            pending: 3))
        #expect(model.presentation?.pendingChanges == 3)
        #expect(!model.showsInitialSync)
        #expect(model.symbolName == "icloud.and.arrow.up")
    }

    @Test func errorCarriesTheCount() {
        let model = SyncStatusModel(status: makeStatus(
            .error, key: "status.error.sync_errors", title: "Sync error", description: "1 change", errors: 1))
        #expect(model.presentation?.syncErrors == 1)
        #expect(model.accessibilityLabel == "Sync: error, action needed")
    }

    @Test func warningFirstSyncNeedsAConnection() {
        let model = SyncStatusModel(status: makeStatus(
            .warning, key: "status.warning.first_sync_needs_connection", title: "Connect to download",
            description: "The first sync needs a connection.", initialSyncComplete: false,
            warnings: [.firstSyncNeedsConnection]))
        #expect(model.firstSyncNeedsConnection)
        #expect(model.showsInitialSync)
        #expect(model.symbolName == "exclamationmark.triangle")
    }

    @Test func notConnectedAfterAPausedFirstSyncKeepsItsNumbers() {
        let model = SyncStatusModel(status: makeStatus(
            .notConnected, key: "status.not_connected.first_sync_paused", title: "Offline", description: "paused",
            initialSyncComplete: false,
            progress: InitialSyncProgress(
                tablesDone: 2, tablesTotal: 5, rowsDone: 300, rowsTotal: 1200, bytes: 0, etaSecs: 7300)))
        #expect(model.showsInitialSync)
        #expect(!model.firstSyncNeedsConnection)
        #expect(model.progressFraction == 0.25)
        #expect(model.etaText == "About 2 h 1 min left")
    }

    @Test func tapShowsTheDetails() {
        let model = SyncStatusModel(status: makeStatus(.warning, key: "k", title: "t", description: "d"))
        #expect(!model.showsDetails)
        model.tap()
        #expect(model.showsDetails)
        model.tap()
        #expect(!model.showsDetails)
    }

    #if canImport(Observation) && !os(Linux)
    @Test func observersSeeChanges() {
        let model = SyncStatusModel(status: makeStatus(.syncing, key: "k", title: "t", description: "d"))
        let changed = Flag()
        withObservationTracking {
            _ = model.presentation
        } onChange: {
            changed.set()
        }
        model.apply(makeStatus(.connected, key: "k2", title: "t", description: "d"))
        #expect(changed.value)
    }
    #endif

    #if os(macOS) || os(Linux)
    @Test func followsARealClientToConnected() async throws {
        let emulator = try Emulator(seedRows: 3)
        let client = try await open(emulator, dir: try temporaryDirectory())
        let model = SyncStatusModel()
        let follower = Task { await model.follow(client.statusUpdates()) }
        let deadline = Date().addingTimeInterval(20)
        while !(model.icon == .connected && !model.showsInitialSync) {
            if Date() > deadline { throw TimeoutError(what: "model connected") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        #expect(model.title == client.status.title)
        follower.cancel()
        await follower.value
        await client.shutdown()
    }
    #endif
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return _value }
    func set() { lock.lock(); _value = true; lock.unlock() }
}
