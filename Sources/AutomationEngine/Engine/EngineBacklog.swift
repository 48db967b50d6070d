import Synchronization

/// Flow control between ingest and the engine, which share SQLite's single writer: how far
/// the engine is behind the log, and a brake the group-commit writer applies while it is too
/// far behind.
///
/// Ingest never waits for its own events to be processed. But under sustained load beyond
/// what the engine can process, an unbounded backlog means notifications fall ever further
/// behind (a welcome message minutes late, then hours). So once more than ``limit`` committed
/// events are unprocessed, each commit waits until the engine has done as much work as the
/// previous commit added: ingest runs at the engine's pace and the backlog stops growing.
/// Requests are answered more slowly; if they pile up past the writer's queue capacity, the
/// newest get 503 with Retry-After (which Segment retries), as for any full queue. The brake
/// is released when the engine makes no progress for ``stallAfter`` (it is failing or
/// stopped: ingest must go on), and it never holds one commit longer than ``maximumHold``.
public final class EngineBacklog: Sendable {
    /// Unprocessed events tolerated before commits are held; 0 turns the brake off.
    public let limit: Int
    /// Longest one commit is held.
    public let maximumHold: Duration
    /// How long without engine progress counts as stalled (the brake is then released).
    public let stallAfter: Duration

    private struct State {
        var appended: Int64 = 0
        var processed: Int64?
        var lastProgress: ContinuousClock.Instant?
        /// While braking, the lag a commit may not push beyond: the lowest lag seen since
        /// the brake engaged (nil while the lag is within the limit).
        var ceiling: Int64?
    }

    private let state = Mutex(State())
    private let clock = ContinuousClock()

    /// - Parameters:
    ///   - limit: unprocessed events tolerated before the writer holds commits (0: never).
    ///   - maximumHold: the longest one commit is held.
    ///   - stallAfter: how long without engine progress releases the brake.
    public init(limit: Int = 20_000, maximumHold: Duration = .milliseconds(500), stallAfter: Duration = .seconds(1)) {
        self.limit = limit
        self.maximumHold = maximumHold
        self.stallAfter = stallAfter
    }

    /// The writer committed the log up to `seq`.
    func appended(through seq: Int64) {
        state.withLock { $0.appended = max($0.appended, seq) }
    }

    /// The engine processed the log up to `seq`.
    func processed(through seq: Int64) {
        let now = clock.now
        state.withLock { state in
            state.processed = max(state.processed ?? 0, seq)
            state.lastProgress = now
        }
    }

    /// Committed events the engine has not processed; nil until the engine reports.
    public var lag: Int64? {
        state.withLock { state in state.processed.map { max(0, state.appended - $0) } }
    }

    /// Whether the writer should hold its next commit now.
    ///
    /// Over the limit, a commit waits until the engine has brought the lag back to the lowest
    /// lag seen since the brake engaged: each commit then waits for as much engine work as
    /// the commit before it added, so ingest runs at the engine's pace and the lag never grows,
    /// however far above the limit it was when braking began (after a restart with a backlog,
    /// say). Waiting for the lag to fall under the limit instead would hold every commit for
    /// the maximum in that case, throttling ingest to a couple of commits per second.
    private func shouldHold(at now: ContinuousClock.Instant) -> Bool {
        guard limit > 0 else { return false }
        return state.withLock { state in
            guard let processed = state.processed, let lastProgress = state.lastProgress else { return false }
            let lag = state.appended - processed
            guard lag > Int64(limit), now - lastProgress < stallAfter else {
                state.ceiling = nil
                return false
            }
            guard let ceiling = state.ceiling else {
                state.ceiling = lag  // the brake engages: this commit goes, the next ones keep pace
                return false
            }
            if lag > ceiling { return true }
            state.ceiling = lag
            return false
        }
    }

    /// Returns once the next commit may go (see `shouldHold`), the engine has stalled,
    /// ``maximumHold`` has passed, or `released()` says so (the writer is closing); at once
    /// while the engine is within ``limit`` of the log.
    func waitForRoom(releasedWhen released: () -> Bool = { false }) async {
        let start = clock.now
        while shouldHold(at: clock.now), clock.now - start < maximumHold, !released(), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
