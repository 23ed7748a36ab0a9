// The database key of each account in the Keychain: 32 random bytes made on
// first use, readable after the first unlock, never synced off the device.
// Not compiled on Linux (no Security framework there).
#if canImport(Security)
import Foundation
import Security

public struct KeychainKeyProvider: EncryptionKeyProvider {
    public let service: String

    public init(service: String = "dev.mooring.database-key") {
        self.service = service
    }

    public func key(forAccount account: String) throws -> String {
        if let existing = try read(account) { return existing }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard SecRandomCopyBytes(kSecRandomDefault, bytes.count, &bytes) == errSecSuccess else {
            throw KeychainError(status: errSecAllocate)
        }
        let key = bytes.map { String(format: "%02x", $0) }.joined()
        let add: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
            kSecValueData as String: Data(key.utf8),
        ]
        let status = SecItemAdd(add as CFDictionary, nil)
        if status == errSecDuplicateItem, let raced = try read(account) { return raced }
        guard status == errSecSuccess else { throw KeychainError(status: status) }
        return key
    }

    /// After sign-out: the mirror is gone, so is its key.
    public func deleteKey(forAccount account: String) throws {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw KeychainError(status: status) }
    }

    private func read(_ account: String) throws -> String? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecMatchLimit as String: kSecMatchLimitOne,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = item as? Data else { throw KeychainError(status: status) }
        return String(decoding: data, as: UTF8.self)
    }
}

public struct KeychainError: Error, Sendable {
    public let status: OSStatus
}

extension Encryption {
    /// The account's key from the Keychain, made on first use.
    public static func keychain(service: String = "dev.mooring.database-key") -> Encryption {
        .provider(KeychainKeyProvider(service: service))
    }
}
#endif
