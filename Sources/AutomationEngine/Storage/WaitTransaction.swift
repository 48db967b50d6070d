/// A run waiting at a `wait_for` step, as the event processor sees it.
struct WaitingRun {
    let waitId: Int64
    let runId: Int64
    let automation: String
    /// The run's scope (JSON), read by `match` as `run.*`.
    let runScope: String
    /// The `match` condition as written, if any.
    let matchText: String?
    /// When the wait ends (ms).
    let deadline: Int64
}

/// How a `wait_for` ended, or that it has not.
enum WaitState: String, Sendable {
    /// The run is waiting.
    case waiting
    /// The awaited event arrived: the `then:` branch.
    case arrived
    /// The time ran out: the `timeout:` branch.
    case timedOut = "timed_out"
}

/// A run's wait at one `wait_for` step.
struct RunWait {
    let state: WaitState
    let deadline: Int64
    /// The event that ended it (when it arrived).
    let eventSeq: Int64?
}
