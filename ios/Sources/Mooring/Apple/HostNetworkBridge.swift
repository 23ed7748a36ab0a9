// NWPathMonitor -> the core's network input: online when the path is
// satisfied, metered when it is expensive (cellular, hotspot) or
// constrained (Low Data Mode). Not compiled on Linux.
#if canImport(Network)
import Foundation
import Network

public final class HostNetworkBridge: @unchecked Sendable {
    // NWPathMonitor is thread-safe; its handler runs on `queue`.
    private let monitor = NWPathMonitor()
    private let queue = DispatchQueue(label: "dev.mooring.network")
    private let client: MooringClient

    public init(client: MooringClient) {
        self.client = client
    }

    public func start() {
        monitor.pathUpdateHandler = { [client] path in
            client.setHostNetwork(
                online: path.status == .satisfied,
                metered: path.isExpensive || path.isConstrained
            )
        }
        monitor.start(queue: queue)
    }

    public func stop() {
        monitor.cancel()
    }

    /// The state right now, for `Configuration.hostOnline/metered` at open.
    public static func currentState() -> (online: Bool, metered: Bool) {
        let path = NWPathMonitor().currentPath
        return (path.status == .satisfied, path.isExpensive || path.isConstrained)
    }
}
#endif
