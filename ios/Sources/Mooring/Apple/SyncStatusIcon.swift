// The sync status icon for a toolbar: six states, each its own SF Symbol
// and VoiceOver label; a tap shows the core's title and description.
// Not compiled on Linux (no SwiftUI there); the values come from
// SyncStatusModel, which is tested.
#if canImport(SwiftUI)
import SwiftUI

public struct SyncStatusIcon: View {
    @Bindable private var model: SyncStatusModel

    public init(model: SyncStatusModel) {
        self.model = model
    }

    public var body: some View {
        Button {
            model.tap()
        } label: {
            Image(systemName: model.symbolName)
                .symbolRenderingMode(.hierarchical)
                .foregroundStyle(tint)
                .symbolEffect(.pulse, isActive: model.icon == .syncing)
        }
        .accessibilityLabel(model.accessibilityLabel)
        .accessibilityHint("Shows the sync status")
        .popover(isPresented: $model.showsDetails) {
            VStack(alignment: .leading, spacing: 8) {
                Label(model.title, systemImage: model.symbolName)
                    .font(.headline)
                Text(model.description)
                    .font(.body)
                    .fixedSize(horizontal: false, vertical: true)
            }
            .padding()
            .frame(minWidth: 260, idealWidth: 320)
            .presentationCompactAdaptation(.popover)
        }
    }

    private var tint: Color {
        switch model.icon {
        case .connected: .green
        case .syncing: .accentColor
        case .pendingUpload: .blue
        case .warning: .orange
        case .error: .red
        case .notConnected, nil: .secondary
        }
    }
}
#endif
