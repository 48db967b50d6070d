public import Foundation
import Crypto

/// A plaintext API key, as handed to a user once, and its SHA-256 hash, which is all
/// Herald stores.
///
/// Keys look like `hk_` followed by 40 base-62 characters (238 bits of randomness), so
/// they are recognisable in a leaked config and safe in a URL or a Basic-auth header.
public struct APIKeySecret: Sendable {
    /// The full key. Shown once at creation, never logged, never stored.
    public let plaintext: String

    /// Prefix every Herald key starts with.
    public static let prefix = "hk_"
    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// A new random key.
    public static func generate() -> APIKeySecret {
        var generator = SystemRandomNumberGenerator()
        let body = String((0..<40).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
        return APIKeySecret(plaintext: prefix + body)
    }

    /// Wraps a key a client presented.
    public init(plaintext: String) {
        self.plaintext = plaintext
    }

    /// SHA-256 of the key, the form the database holds.
    public var hash: Data { Data(SHA256.hash(data: Data(plaintext.utf8))) }

    /// The part of the key that may be shown (in `keys list`, logs): `hk_` and 8 characters.
    public var visiblePrefix: String { String(plaintext.prefix(Self.prefix.count + 8)) }

    /// Constant-time check that `storedHash` is this key's hash.
    public func matches(storedHash: Data) -> Bool {
        SHA256.hash(data: Data(plaintext.utf8)) == storedHash
    }
}
