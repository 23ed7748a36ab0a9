// The view model beneath SyncStatusIcon and InitialSyncView. Plain Swift so
// it compiles and is tested on Linux; where the Observation module exists
// (iOS 17+; not on Linux, where Debian's libswiftObservation.so does not
// link: undefined swift::threading::fatal) it is `Observable`, so SwiftUI views
// re-render when `presentation` changes.
import Foundation
#if canImport(Observation) && !os(Linux)
import Observation
#endif

@MainActor
public final class SyncStatusModel {
    #if canImport(Observation) && !os(Linux)
    private let registrar = ObservationRegistrar()
    #endif
    private var _presentation: StatusPresentation?
    private var _showsDetails = false

    /// nil until the first status arrived.
    public var presentation: StatusPresentation? {
        get {
            access(\.presentation)
            return _presentation
        }
        set {
            mutate(\.presentation) { _presentation = newValue }
        }
    }

    /// The icon was tapped: show title and description.
    public var showsDetails: Bool {
        get {
            access(\.showsDetails)
            return _showsDetails
        }
        set {
            mutate(\.showsDetails) { _showsDetails = newValue }
        }
    }

    public init(status: SyncStatus? = nil) {
        _presentation = status.map(StatusPresentation.init)
    }

    public func apply(_ status: SyncStatus) {
        let next = StatusPresentation(status)
        if next != _presentation { presentation = next }
    }

    /// Follows a status stream until it ends or the calling task is
    /// cancelled (e.g. SwiftUI's `.task { await model.follow(client.statusUpdates()) }`).
    public func follow(_ statuses: AsyncStream<SyncStatus>) async {
        for await status in statuses {
            apply(status)
        }
    }

    /// What a tap on the icon does.
    public func tap() { showsDetails.toggle() }

    // Shorthands for views; all read `presentation`.
    public var icon: SyncIcon? { presentation?.icon }
    public var symbolName: String { presentation?.symbolName ?? StatusPresentation.symbolName(.notConnected) }
    public var accessibilityLabel: String {
        presentation?.accessibilityLabel ?? StatusPresentation.accessibilityLabel(.notConnected)
    }
    public var title: String { presentation?.title ?? "" }
    public var description: String { presentation?.description ?? "" }
    public var progressFraction: Double? { presentation?.progressFraction }
    public var rowsText: String? { presentation?.rowsText }
    public var tablesText: String? { presentation?.tablesText }
    public var etaText: String? { presentation?.etaText }
    public var firstSyncNeedsConnection: Bool { presentation?.firstSyncNeedsConnection ?? false }
    /// Show the loading view instead of the app's content.
    public var showsInitialSync: Bool { !(presentation?.initialSyncComplete ?? false) }

    private func access<T>(_ keyPath: KeyPath<SyncStatusModel, T>) {
        #if canImport(Observation) && !os(Linux)
        registrar.access(self, keyPath: keyPath)
        #endif
    }

    private func mutate<T>(_ keyPath: KeyPath<SyncStatusModel, T>, _ body: () -> Void) {
        #if canImport(Observation) && !os(Linux)
        registrar.withMutation(of: self, keyPath: keyPath, body)
        #else
        body()
        #endif
    }
}

#if canImport(Observation) && !os(Linux)
extension SyncStatusModel: Observable {}
#endif
