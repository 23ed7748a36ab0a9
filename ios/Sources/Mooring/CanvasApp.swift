// The offline profile generated from a canvas app's own source (its Power
// Fx formulas): docs/profile.md, "From a canvas app's own source".
import Foundation

extension Configuration.Schema {
    /// The profile of the canvas app at `path`: a `pac canvas unpack`
    /// folder, a `.msapp` file or a Power Apps YAML v3 folder. Reads files
    /// only; call it off the main thread. A source that cannot be read or
    /// does not parse throws `.CanvasApp(file:line:column:reason:)`.
    /// `CanvasAppProfile.generate(path:)` gives the same with what the app's
    /// formulas need and why (tables, warnings, the explanation text).
    public static func fromCanvasApp(path: String) throws(MooringError) -> Configuration.Schema {
        try CanvasAppProfile.generate(path: path).schema
    }
}

extension CanvasAppProfile {
    /// Reads the canvas app at `path` and generates its offline profile.
    public static func generate(path: String) throws(MooringError) -> CanvasAppProfile {
        do {
            return try profileFromCanvasApp(path: path)
        } catch {
            throw MooringError.from(error)
        }
    }

    /// What `Configuration` takes to sync this app.
    public var schema: Configuration.Schema { .profile(json: profileJson) }
}
