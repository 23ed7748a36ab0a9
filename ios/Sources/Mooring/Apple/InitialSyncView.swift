// The loading view of the first sync: rows and tables downloaded, a
// progress bar, the time left, and the "first sync needs a connection"
// case (first launch offline). Not compiled on Linux (no SwiftUI there).
#if canImport(SwiftUI)
import SwiftUI

public struct InitialSyncView: View {
    private let model: SyncStatusModel

    public init(model: SyncStatusModel) {
        self.model = model
    }

    public var body: some View {
        if model.firstSyncNeedsConnection {
            ContentUnavailableView {
                Label(model.title, systemImage: "wifi.slash")
            } description: {
                Text(model.description)
            }
        } else {
            VStack(spacing: 16) {
                Text(model.title)
                    .font(.title3.weight(.semibold))
                if let fraction = model.progressFraction {
                    ProgressView(value: fraction)
                        .accessibilityValue(Text("\(Int(fraction * 100)) percent"))
                } else {
                    ProgressView()
                }
                VStack(spacing: 4) {
                    if let rows = model.rowsText { Text(rows) }
                    if let tables = model.tablesText { Text(tables) }
                    if let eta = model.etaText { Text(eta) }
                }
                .font(.subheadline)
                .foregroundStyle(.secondary)
                .monospacedDigit()
                Text(model.description)
                    .font(.footnote)
                    .foregroundStyle(.secondary)
                    .multilineTextAlignment(.center)
            }
            .padding(32)
            .frame(maxWidth: 420)
        }
    }
}
#endif
