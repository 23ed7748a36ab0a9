// Background refresh with BGTaskScheduler: one app-refresh task that runs
// a sync and reschedules itself. The identifier must be listed under
// BGTaskSchedulerPermittedIdentifiers in Info.plist, with the `fetch`
// background mode. Not compiled on Linux.
#if canImport(BackgroundTasks) && os(iOS)
import BackgroundTasks
import Foundation

public enum BackgroundRefresh {
    /// Register before the app finishes launching. `client` returns the
    /// open client, or nil when nobody is signed in.
    public static func register(
        identifier: String,
        every interval: TimeInterval = 15 * 60,
        client: @escaping @Sendable () async -> MooringClient?
    ) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            try? schedule(identifier: identifier, earliestIn: interval)
            let box = TaskBox(task: task)
            let work = Task {
                guard let client = await client() else {
                    box.complete(success: false)
                    return
                }
                // The app paused the client when it went to the background
                // (scene phase); sync runs only while resumed.
                client.resume()
                defer { client.pause() }
                do {
                    try await client.syncNow()
                    box.complete(success: true)
                } catch {
                    box.complete(success: false)
                }
            }
            task.expirationHandler = {
                // Out of time: stop the running sync at once (what committed
                // stays, page granularity) and tell iOS now.
                work.cancel()
                Task { await client()?.pause() }
                box.complete(success: false)
            }
        }
    }

    /// Asks iOS to run the refresh no earlier than `earliestIn` from now.
    public static func schedule(identifier: String, earliestIn: TimeInterval = 15 * 60) throws {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: earliestIn)
        try BGTaskScheduler.shared.submit(request)
    }
}

/// Completes a BGTask once, from whichever of the work and the expiration
/// handler gets there first (BGTask is not marked Sendable).
private final class TaskBox: @unchecked Sendable {
    private let task: BGTask
    private let lock = NSLock()
    private var done = false

    init(task: BGTask) {
        self.task = task
    }

    func complete(success: Bool) {
        lock.lock()
        let first = !done
        done = true
        lock.unlock()
        if first { task.setTaskCompleted(success: success) }
    }
}
#endif
