/// The health of one endpoint as its deliveries see it: after ``failureThreshold`` failures
/// in a row it opens, and its messages wait instead of hammering it; after a cool-down one
/// probe is let through (half open), and its success closes the breaker again, while a
/// failure opens it for twice as long (up to ``maximumCooldown``).
///
/// A value type: the delivery service keeps one per endpoint under its own lock.
struct CircuitBreaker: Sendable {
    /// Failures in a row that open the breaker.
    static let failureThreshold = 5
    /// First cool-down.
    static let initialCooldown: Duration = .seconds(5)
    /// Longest cool-down.
    static let maximumCooldown: Duration = .seconds(300)

    enum State: Sendable, Equatable {
        case closed(failures: Int)
        /// Refusing attempts until `until` (milliseconds since 1970).
        case open(until: Int64, cooldown: Duration)
        /// One probe is in flight; the others wait for its outcome.
        case halfOpen(cooldown: Duration)
    }

    private(set) var state: State = .closed(failures: 0)

    /// Whether an attempt may start at `now`; a breaker whose cool-down ended lets exactly
    /// one attempt through.
    mutating func allowsAttempt(at now: Int64) -> Bool {
        switch state {
        case .closed: return true
        case .halfOpen: return false
        case .open(let until, let cooldown):
            guard now >= until else { return false }
            state = .halfOpen(cooldown: cooldown)
            return true
        }
    }

    /// When attempts may start again, or nil when they may now.
    func reopensAt(now: Int64) -> Int64? {
        switch state {
        case .closed: return nil
        case .halfOpen: return now + 1_000
        case .open(let until, _): return until > now ? until : nil
        }
    }

    /// Whether it refuses attempts at the moment.
    var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    /// Records an attempt's result at `now`.
    mutating func record(success: Bool, at now: Int64) {
        switch (state, success) {
        case (_, true):
            state = .closed(failures: 0)
        case (.closed(let failures), false):
            state = failures + 1 >= Self.failureThreshold
                ? .open(until: now + Self.initialCooldown.wholeMilliseconds, cooldown: Self.initialCooldown)
                : .closed(failures: failures + 1)
        case (.halfOpen(let cooldown), false):
            let next = min(cooldown * 2, Self.maximumCooldown)
            state = .open(until: now + next.wholeMilliseconds, cooldown: next)
        case (.open, false):
            // An attempt that was in flight when the breaker opened: the outage is already
            // counted, and only a failed probe lengthens the cool-down.
            break
        }
    }
}
