import AutomationEngine
import Foundation
import Synchronization

/// Per-workspace token buckets for the optional ingest rate limit (off unless a workspace
/// has one). Limits are re-read from the database every few seconds, so
/// `herald workspaces rate-limit` takes effect on a running server without a restart.
final class WorkspaceRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct State {
        var limits: [String: Int] = [:]
        var loadedAt: ContinuousClock.Instant?
        var buckets: [String: Bucket] = [:]
    }

    private let store: any ManagementStorage
    private let refreshInterval: Duration
    private let state = Mutex(State())
    private let clock = ContinuousClock()

    init(store: any ManagementStorage, refreshInterval: Duration = .seconds(2)) {
        self.store = store
        self.refreshInterval = refreshInterval
    }

    /// Takes `events` tokens from the workspace's bucket. Returns nil when allowed, or how
    /// many seconds to wait (for `Retry-After`) and the limit, when not.
    func admit(workspace: String, events: Int) async -> (retryAfter: Int, limit: Int)? {
        let now = clock.now
        if state.withLock({ $0.loadedAt.map { now - $0 > refreshInterval } ?? true }) {
            // A database that cannot be read keeps the limits last read (none at first) until
            // the next refresh: the request then fails, if it does, where it writes, with an
            // answer that names the store, instead of here.
            let limits = try? await store.rateLimits()
            state.withLock {
                if let limits { $0.limits = limits }
                $0.loadedAt = now
            }
        }
        return state.withLock { state -> (Int, Int)? in
            guard let limit = state.limits[workspace], limit > 0 else { return nil }
            let capacity = Double(limit)  // one second of burst
            var bucket = state.buckets[workspace] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * capacity)
            bucket.updated = now
            // A full bucket lets one oversized batch through, so no request is refused forever.
            guard bucket.tokens >= Double(events) || bucket.tokens >= capacity else {
                state.buckets[workspace] = bucket
                let wait = (Double(min(events, limit)) - bucket.tokens) / capacity
                return (max(1, Int(wait.rounded(.up))), limit)
            }
            bucket.tokens -= Double(events)
            state.buckets[workspace] = bucket
            return nil
        }
    }
}
