// The core logs through `tracing`; its one init routes it to os_log on
// Apple (subsystem `dev.mooring`, category `default`), stderr elsewhere.
public enum MooringLog {
    public enum Level: String, Sendable {
        case off, error, warn, info, debug, trace
    }

    /// Routes Mooring's log records to the app's own logger (swift-log,
    /// a file) instead of os_log, until `stopRouting()`. Called on Mooring's
    /// threads; no token or row value is ever in a record.
    public static func route(to sink: @escaping @Sendable (LogRecord) -> Void) {
        setLogSink(sink: ClosureSink(sink))
    }

    /// Back to os_log (stderr off Apple platforms).
    public static func stopRouting() {
        clearLogSink()
    }

    /// Call once at launch, before opening a client. The first call wins.
    public static func start(level: Level = .info) throws(MooringError) {
        do {
            try initLogging(level: level.rawValue)
        } catch {
            throw MooringError.from(error)
        }
    }
}

final class ClosureSink: LogSink, @unchecked Sendable {
    let sink: @Sendable (LogRecord) -> Void

    init(_ sink: @escaping @Sendable (LogRecord) -> Void) {
        self.sink = sink
    }

    func onRecord(record: LogRecord) {
        sink(record)
    }
}
