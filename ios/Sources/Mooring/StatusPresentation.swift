// What the shell shows for a status: the icon's SF Symbol and accessibility
// label, the core's title/description (shown on tap), and the initial-sync
// numbers. A pure function of `SyncStatus`, so it is tested on Linux.
import Foundation

public struct StatusPresentation: Sendable, Equatable {
    public var icon: SyncIcon
    /// SF Symbol name, one per icon.
    public var symbolName: String
    /// VoiceOver label, one per icon.
    public var accessibilityLabel: String
    /// The core's stable message key (`status.<icon>.<case>`): translate by it.
    public var messageKey: String
    /// The core's English title and description: what a tap on the icon shows.
    public var title: String
    public var description: String
    /// 0...1 while the initial sync has numbers, else nil (indeterminate).
    public var progressFraction: Double?
    /// "1,234 of 10,000 rows".
    public var rowsText: String?
    /// "2 of 5 tables".
    public var tablesText: String?
    /// "About 3 minutes left".
    public var etaText: String?
    /// First launch offline: nothing can be shown until a connection.
    public var firstSyncNeedsConnection: Bool
    /// The loading view is shown until the first sync completed.
    public var initialSyncComplete: Bool
    public var pendingChanges: UInt64
    public var syncErrors: UInt64

    public init(_ status: SyncStatus) {
        icon = status.icon
        symbolName = Self.symbolName(status.icon)
        accessibilityLabel = Self.accessibilityLabel(status.icon)
        messageKey = status.messageKey
        title = status.title
        description = status.description
        firstSyncNeedsConnection = status.warnings.contains(.firstSyncNeedsConnection)
        initialSyncComplete = status.initialSyncComplete
        pendingChanges = status.pendingChanges
        syncErrors = status.syncErrors
        if let p = status.progress {
            if p.rowsTotal > 0 {
                progressFraction = min(1, Double(p.rowsDone) / Double(p.rowsTotal))
            } else if p.tablesTotal > 0 {
                progressFraction = min(1, Double(p.tablesDone) / Double(p.tablesTotal))
            } else {
                progressFraction = nil
            }
            rowsText = "\(grouped(p.rowsDone)) of \(grouped(p.rowsTotal)) rows"
            tablesText = "\(p.tablesDone) of \(p.tablesTotal) tables"
            etaText = p.etaSecs.map(Self.etaText)
        } else {
            progressFraction = nil
            rowsText = nil
            tablesText = nil
            etaText = nil
        }
    }

    public static func symbolName(_ icon: SyncIcon) -> String {
        switch icon {
        case .connected: "checkmark.icloud"
        case .notConnected: "icloud.slash"
        case .syncing: "arrow.triangle.2.circlepath.icloud"
        case .pendingUpload: "icloud.and.arrow.up"
        case .error: "exclamationmark.icloud"
        case .warning: "exclamationmark.triangle"
        }
    }

    public static func accessibilityLabel(_ icon: SyncIcon) -> String {
        switch icon {
        case .connected: "Sync: up to date"
        case .notConnected: "Sync: not connected"
        case .syncing: "Sync: syncing"
        case .pendingUpload: "Sync: changes waiting to upload"
        case .error: "Sync: error, action needed"
        case .warning: "Sync: warning"
        }
    }

    static func etaText(_ secs: UInt64) -> String {
        switch secs {
        case 0..<60: "Less than a minute left"
        case 60..<120: "About 1 minute left"
        case 120..<3600: "About \((secs + 30) / 60) minutes left"
        default: "About \(grouped(secs / 3600)) h \((secs % 3600) / 60) min left"
        }
    }
}

/// 1234567 -> "1,234,567", the same on every platform and locale (the
/// tests pin it; a localized app formats the raw numbers itself).
func grouped(_ n: UInt64) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}
