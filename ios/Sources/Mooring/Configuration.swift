// What `MooringClient.open` needs: the server, where the mirror lives, whose
// it is, what to sync, and how it is encrypted.
import Foundation

/// Settings of one account's mirror.
public struct Configuration: Sendable {
    /// What to sync: exactly one of a profile (docs/profile.md) or an app manifest, as JSON.
    public enum Schema: Sendable {
        case profile(json: String)
        case manifest(json: String)
    }

    /// Overrides of the core's timings, for tests and demos; nil keeps the core's default.
    public struct Tuning: Sendable {
        public var deltaIntervalSecs: UInt64?
        public var probeIntervalSecs: UInt64?
        public var uploadDebounceMs: UInt64?
        public var retryBaseMs: UInt64?
        public var retryCapMs: UInt64?
        public var pageSize: UInt32?

        public init(
            deltaIntervalSecs: UInt64? = nil, probeIntervalSecs: UInt64? = nil,
            uploadDebounceMs: UInt64? = nil, retryBaseMs: UInt64? = nil,
            retryCapMs: UInt64? = nil, pageSize: UInt32? = nil
        ) {
            self.deltaIntervalSecs = deltaIntervalSecs
            self.probeIntervalSecs = probeIntervalSecs
            self.uploadDebounceMs = uploadDebounceMs
            self.retryBaseMs = retryBaseMs
            self.retryCapMs = retryCapMs
            self.pageSize = pageSize
        }
    }

    /// The environment URL, e.g. `https://contoso.crm.dynamics.com`.
    public var serverURL: String
    /// Folder of the mirror files (one per environment and account).
    public var dataDirectory: URL
    /// The host's stable id of the signed-in user (MSAL home account id or
    /// UPN); hashed into the file name, never stored in clear.
    public var account: String
    public var schema: Schema
    /// The network state at launch (a first launch offline sends nothing).
    public var hostOnline: Bool
    public var metered: Bool
    public var wifiOnly: Bool
    public var tuning: Tuning
    /// PEM root certificates to trust beside the built-in ones (a company CA
    /// that MDM installs), for sync and the probe alike; an untrusted server
    /// throws `.Tls`, never retried.
    public var extraRootsPEM: String?
    /// The system's HTTP proxy (`http://host:port`) for sync and the probe;
    /// loopback never goes through it. iOS keeps it in its settings, not in
    /// environment variables: read `CFNetworkCopySystemProxySettings()`
    /// (ios/README.md shows how). Read at open.
    public var proxyURL: String?

    public init(
        serverURL: String, dataDirectory: URL, account: String, schema: Schema,
        hostOnline: Bool = true, metered: Bool = false, wifiOnly: Bool = false,
        tuning: Tuning = Tuning(), extraRootsPEM: String? = nil, proxyURL: String? = nil
    ) {
        self.extraRootsPEM = extraRootsPEM
        self.proxyURL = proxyURL
        self.serverURL = serverURL
        self.dataDirectory = dataDirectory
        self.account = account
        self.schema = schema
        self.hostOnline = hostOnline
        self.metered = metered
        self.wifiOnly = wifiOnly
        self.tuning = tuning
    }

    /// `Application Support/Mooring`, created if missing. On iOS the files
    /// get the app's default data protection class.
    public static func defaultDataDirectory() throws -> URL {
        let base = try FileManager.default.url(
            for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        let dir = base.appendingPathComponent("Mooring", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func appConfig(encryptionKey: String?) -> AppConfig {
        var profile: String?
        var manifest: String?
        switch schema {
        case .profile(let json): profile = json
        case .manifest(let json): manifest = json
        }
        return AppConfig(
            serverUrl: serverURL,
            dataDir: dataDirectory.path,
            account: account,
            profileJson: profile,
            manifestJson: manifest,
            encryptionKey: encryptionKey,
            hostOnline: hostOnline,
            metered: metered,
            wifiOnly: wifiOnly,
            deltaIntervalSecs: tuning.deltaIntervalSecs,
            probeIntervalSecs: tuning.probeIntervalSecs,
            uploadDebounceMs: tuning.uploadDebounceMs,
            retryBaseMs: tuning.retryBaseMs,
            retryCapMs: tuning.retryCapMs,
            pageSize: tuning.pageSize,
            extraRootsPem: extraRootsPEM,
            proxyUrl: proxyURL
        )
    }
}

/// How the mirror file is encrypted (SQLCipher). No default: an app either
/// brings a key or says plainly that it stores data unencrypted.
public enum Encryption: Sendable {
    /// A key the app keeps itself.
    case key(String)
    /// Asked for the account's key at open (see `KeychainKeyProvider`).
    case provider(any EncryptionKeyProvider)
    /// Explicit opt-out: a plain SQLite file.
    case unencrypted

    func resolveKey(account: String) throws(MooringError) -> String? {
        switch self {
        case .key(let key):
            guard !key.isEmpty else { throw .Validation(field: "encryption_key", reason: "empty key") }
            return key
        case .provider(let provider):
            do {
                return try provider.key(forAccount: account)
            } catch {
                throw .Storage(reason: "the encryption key provider failed: \(type(of: error))")
            }
        case .unencrypted:
            return nil
        }
    }
}

/// Gives the database key of an account, creating it on first use.
public protocol EncryptionKeyProvider: Sendable {
    func key(forAccount account: String) throws -> String
}

/// Adapts a closure to the generated `TokenProvider`.
final class ClosureTokenProvider: TokenProvider {
    let body: @Sendable (Bool) async throws -> String

    init(_ body: @escaping @Sendable (Bool) async throws -> String) {
        self.body = body
    }

    func token(forceRefresh: Bool) async throws -> String {
        do {
            return try await body(forceRefresh)
        } catch let error as TokenError {
            throw error
        } catch {
            // The type only: an MSAL error's text could quote the token.
            throw TokenError.Failed(reason: "token provider failed: \(type(of: error))")
        }
    }
}
