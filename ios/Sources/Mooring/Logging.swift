// The core logs through `tracing`; its one init routes it to os_log on
// Apple (subsystem `dev.mooring`, category `default`), stderr elsewhere.
public enum MooringLog {
    public enum Level: String, Sendable {
        case off, error, warn, info, debug, trace
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
