import AutomationEngine
import Foundation
import Synchronization

/// Checks API keys against the store, remembering keys that checked out.
///
/// The cache only holds valid keys, so an unknown key always costs a database look-up and
/// a valid one none. A key revoked after it was cached is still caught: the group-commit
/// writer re-checks every submission's key inside its transaction, and ``forget(hash:)``
/// drops it from here.
final class KeyAuthenticator: Sendable {
    private let store: HeraldStore
    private let known = Mutex<[Data: KeyIdentity]>([:])

    init(store: HeraldStore) {
        self.store = store
    }

    /// The identity of `key`, or nil when it is unknown or revoked.
    func identity(for key: String) async throws -> (identity: KeyIdentity, hash: Data)? {
        let secret = APIKeySecret(plaintext: key)
        let hash = secret.hash
        if let cached = known.withLock({ $0[hash] }) { return (cached, hash) }
        guard let identity = try await store.identity(for: secret) else { return nil }
        known.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }  // bounded: keys are few, but be safe
            cache[hash] = identity
        }
        return (identity, hash)
    }

    /// Drops a key from the cache (it was found revoked).
    func forget(hash: Data) {
        _ = known.withLock { $0.removeValue(forKey: hash) }
    }
}
