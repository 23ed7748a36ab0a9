// Sample app: the loading view on first launch, the status icon in the
// toolbar, and accounts with create/edit/delete that work offline.
// Server URL and token come from Info.plist (MooringServerURL, MooringToken):
// `just emulator` on the Mac serves http://127.0.0.1:8080 to the simulator.
import Mooring
import SwiftUI

let profile = """
{"tables":[{"name":"accounts","columns":["name","telephone1","address1_city"],"rows":"all"}]}
"""

@main
struct SampleApp: App {
    @State private var session = Session()
    @Environment(\.scenePhase) private var scenePhase

    init() {
        try? MooringLog.start(level: .info)
        BackgroundRefresh.register(identifier: "dev.mooring.sample.refresh") { @MainActor in
            Session.shared?.client
        }
    }

    var body: some Scene {
        WindowGroup {
            RootView(session: session)
                .task { await session.start() }
        }
        .onChange(of: scenePhase) { _, phase in
            switch phase {
            case .active: session.client?.resume()
            case .background:
                session.client?.pause()
                try? BackgroundRefresh.schedule(identifier: "dev.mooring.sample.refresh")
            default: break
            }
        }
    }
}

@MainActor
@Observable
final class Session {
    static weak var shared: Session?
    var client: MooringClient?
    var openError: String?
    let status = SyncStatusModel()
    private var network: HostNetworkBridge?

    init() {
        Session.shared = self
    }

    func start() async {
        guard client == nil else { return }
        let info = Bundle.main.infoDictionary ?? [:]
        let server = info["MooringServerURL"] as? String ?? "http://127.0.0.1:8080"
        let token = info["MooringToken"] as? String ?? "dev-token"
        do {
            let network = HostNetworkBridge.currentState()
            let config = Configuration(
                serverURL: server,
                dataDirectory: try Configuration.defaultDataDirectory(),
                account: "sample-user",
                schema: .profile(json: profile),
                hostOnline: network.online,
                metered: network.metered)
            // A real app gets the token from MSAL here.
            let client = try await MooringClient.open(config, encryption: .keychain(), tokens: { _ in token })
            self.client = client
            let bridge = HostNetworkBridge(client: client)
            bridge.start()
            self.network = bridge
            await status.follow(client.statusUpdates())
        } catch {
            openError = "\(error)"
        }
    }
}

struct RootView: View {
    let session: Session

    var body: some View {
        NavigationStack {
            Group {
                if let error = session.openError {
                    ContentUnavailableView("Could not open", systemImage: "xmark.octagon", description: Text(error))
                } else if let client = session.client, !session.status.showsInitialSync {
                    AccountsView(client: client)
                } else {
                    InitialSyncView(model: session.status)
                }
            }
            .navigationTitle("Accounts")
            .toolbar {
                ToolbarItem(placement: .topBarTrailing) {
                    SyncStatusIcon(model: session.status)
                }
            }
        }
    }
}
