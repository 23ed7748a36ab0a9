// A real mooring-devserver process on loopback for each test: started with
// --port 0, its URL read from the first stdout line; the admin API over
// URLSession. The binary comes from $MOORING_DEVSERVER (scripts/test-swift;
// on a Mac, the shell running `swift test`). iOS has no `Process`, so the
// emulator-backed tests build on macOS and Linux only; on an iOS simulator
// the test target runs the view-model tests alone.
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import Mooring

#if os(macOS) || os(Linux)
final class Emulator: @unchecked Sendable {
    let process = Process()
    /// e.g. http://127.0.0.1:41234 (what AppConfig.server_url takes).
    let rootURL: String
    let token: String

    init(seedRows: Int, token: String = "swift-test-token-5d1c") throws {
        self.token = token
        let path = ProcessInfo.processInfo.environment["MOORING_DEVSERVER"] ?? "mooring-devserver"
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--port", "0", "--seed-rows", String(seedRows), "--token", token]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first stdout line is the base URL .../api/data/v9.2/
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let base = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let range = base.range(of: "/api/data/") else {
            process.terminate()
            throw EmulatorError.noURL(base)
        }
        rootURL = String(base[..<range.lowerBound])
    }

    deinit {
        // SIGKILL without waiting: Foundation's `waitUntilExit` on Linux
        // spins a run loop that a Swift-concurrency thread never runs, and
        // hung every test here. The child is reaped by Foundation or at exit.
        let pid = process.processIdentifier
        if pid > 0 {
            kill(pid, SIGKILL)
        }
    }

    /// One admin call; the JSON answer (nil when empty).
    @discardableResult
    func admin(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
        var request = URLRequest(url: URL(string: rootURL + "/admin/" + path)!)
        request.httpMethod = method
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw EmulatorError.status(status, path) }
        return data.isEmpty ? nil : try JSONSerialization.jsonObject(with: data)
    }

    /// The server's rows of an entity set.
    func rows(_ set: String) async throws -> [[String: Any]] {
        let answer = try await admin("GET", "rows/\(set)") as? [String: Any]
        return answer?["value"] as? [[String: Any]] ?? []
    }
}

enum EmulatorError: Error {
    case noURL(String)
    case status(Int, String)
}

#endif

/// A fresh folder per test.
func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("mooring-swift-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

let testProfile = """
{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}
"""

#if os(macOS) || os(Linux)
func testConfiguration(_ emulator: Emulator, dir: URL, hostOnline: Bool = true, profile: String = testProfile) -> Configuration {
    Configuration(
        serverURL: emulator.rootURL,
        dataDirectory: dir,
        account: "alice@contoso.test",
        schema: .profile(json: profile),
        hostOnline: hostOnline,
        tuning: .init(probeIntervalSecs: 30, uploadDebounceMs: 100, retryBaseMs: 200, retryCapMs: 1000, pageSize: 10)
    )
}

#endif

/// Polls `check` every 20 ms until it holds or `seconds` pass.
func eventually(
    _ what: String, seconds: Double = 20, _ check: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await check() { return }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
    throw TimeoutError(what: what)
}

struct TimeoutError: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting for \(what)" }
}
