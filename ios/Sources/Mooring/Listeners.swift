// Rust calls these from its own threads: they only hand the value to an
// AsyncStream continuation (thread-safe) and return at once.
import Foundation

final class StatusForwarder: StatusListener {
    let continuation: AsyncStream<SyncStatus>.Continuation

    init(_ continuation: AsyncStream<SyncStatus>.Continuation) {
        self.continuation = continuation
    }

    func onStatus(status: SyncStatus) {
        continuation.yield(status)
    }
}

final class RowsForwarder: RowsListener {
    let continuation: AsyncThrowingStream<[[String: Value]], any Error>.Continuation
    let handles = HandleSlot()

    init(_ continuation: AsyncThrowingStream<[[String: Value]], any Error>.Continuation) {
        self.continuation = continuation
    }

    func onRows(rows: [[String: Value]]) {
        continuation.yield(rows)
    }
}

final class SqlForwarder: SqlListener {
    let continuation: AsyncThrowingStream<SqlRows, any Error>.Continuation
    let handles = HandleSlot()

    init(_ continuation: AsyncThrowingStream<SqlRows, any Error>.Continuation) {
        self.continuation = continuation
    }

    func onRows(rows: SqlRows) {
        continuation.yield(rows)
    }
}

/// Holds a Rust `TaskHandle` that arrives asynchronously, and cancels it
/// whichever comes last: the handle or the end of the stream.
final class HandleSlot: @unchecked Sendable {
    private let lock = NSLock()
    private var handle: TaskHandle?
    private var ended = false

    func set(_ new: TaskHandle) {
        lock.lock()
        let cancelNow = ended
        if !ended { handle = new }
        lock.unlock()
        if cancelNow { new.cancel() }
    }

    func end() {
        lock.lock()
        ended = true
        let h = handle
        handle = nil
        lock.unlock()
        h?.cancel()
    }
}
