import AutomationEngine
import Foundation
import Synchronization

/// Checks API keys against the store, remembering keys that checked out.
///
/// The cache only holds valid keys, so an unknown key always costs a database look-up and
/// a valid one none. A key revoked after it was cached is still caught: the group-commit
/// writer re-checks every submission's key inside its transaction, a refusal is answered
/// only after ``confirm(hash:)``, and either drops the key from here.
final class KeyAuthenticator: Sendable {
    private let store: any ManagementStorage
    /// Valid keys by their plaintext, so a cache hit costs no hashing.
    private let known = Mutex<[String: (identity: KeyIdentity, hash: Data)]>([:])

    init(store: any ManagementStorage) {
        self.store = store
    }

    /// The identity of `key`, or nil when it is unknown or revoked.
    func identity(for key: String) async throws -> (identity: KeyIdentity, hash: Data)? {
        if let cached = known.withLock({ $0[key] }) { return cached }
        let secret = APIKeySecret(plaintext: key)
        guard let identity = try await store.identity(for: secret) else { return nil }
        let entry = (identity: identity, hash: secret.hash)
        known.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }  // bounded: keys are few, but be safe
            cache[key] = entry
        }
        return entry
    }

    /// Whether a key is still valid in the database; a revoked one is dropped from the cache.
    ///
    /// For answers given before anything reaches the writer (a 400, 429 or 501): they must
    /// not tell a revoked key more than a 401 would.
    func confirm(hash: Data) async throws -> Bool {
        guard try await store.keyIsValid(hash: hash) else {
            forget(hash: hash)
            return false
        }
        return true
    }

    /// Drops a key from the cache (it was found revoked).
    func forget(hash: Data) {
        known.withLock { cache in
            for (key, entry) in cache where entry.hash == hash { cache[key] = nil }
        }
    }
}
