/// What retention removes once it is older than the configured age, and what it never does.
public enum RetainedRecord: String, CaseIterable, Sendable {
    /// Stored events the engine has processed, with their explain traces. Unprocessed events
    /// stay; deduplication keeps its own keys for the dedup window, whatever this removes.
    case events
    /// Messages in a final status (sent, delivered, undeliverable, unroutable, skipped,
    /// opened, clicked), with their status history. Queued ones stay.
    case messages
    /// Runs that ended (completed, failed, cancelled), with their step history. Pending ones
    /// stay, however long they wait; `once_per` ledgers are never removed.
    case runs
    /// Calls for a workspace's Segment source that Segment refused. Pending ones stay.
    case segmentCalls = "segment calls"

    /// What stays although it is old, in words (for `herald prune`).
    public var kept: String {
        switch self {
        case .events: "events the engine has not processed yet stay; the dedup window is kept apart"
        case .messages: "queued messages stay"
        case .runs: "pending runs stay; once_per ledgers are never removed"
        case .segmentCalls: "calls still to send stay"
        }
    }
}
