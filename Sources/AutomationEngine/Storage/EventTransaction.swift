import SegmentSpec

/// The event processor's reads and writes inside one transaction: the log past the cursor,
/// the configuration in force, cancellations, the `once_per` ledger, runs and explain traces.
protocol EventTransaction: DigestTransaction {
    /// The next `limit` positions of the log past the engine's cursor, in order.
    func pendingPositions(limit: Int) throws -> [Int64]
    /// The stored events at `positions` (increasing); positions erased since are absent.
    func events(at positions: [Int64]) throws -> [StoredEvent]
    /// The stored event at `seq`, unless it was erased.
    func event(at seq: Int64) throws -> StoredEvent?
    /// The workspace's already-processed events received in `[from, to)` past `seq`, in log
    /// order, at most `limit` (replays).
    func processedEvents(workspace: String, after seq: Int64, receivedFrom from: Timestamp?, to: Timestamp?, limit: Int) throws -> [StoredEvent]
    /// Moves the engine's cursor: every event up to `seq` has been processed.
    func advanceCursor(to seq: Int64) throws
    /// Adds a pass's event names to the per-name counts (what arrived, how often, when last).
    func record(_ names: EventNameTally) throws
    /// Keeps the explain trace of the event at `seq`.
    func saveTrace(_ trace: EventTrace, seq: Int64, workspace: String) throws

    /// The workspace's configuration in force (its latest version), parsed once per version.
    func configurationInForce(workspace: String) throws -> (version: Int, configuration: HeraldConfiguration)?
    /// Profiles and groups of `workspace`, in this transaction.
    func profiles(workspace: String, time: Timestamp) -> any ProfileTransaction

    /// Cancels the workspace's pending runs with `token`; returns the automation of each.
    func cancelPendingRuns(workspace: String, token: String, at ms: Int64) throws -> [String]
    /// Keeps `token` cancelled until `until` (ms), so runs created meanwhile are cancelled too.
    func holdCancellation(workspace: String, token: String, until: Int64) throws
    /// Until when (ms) a cancellation of `token` holds, if one was made.
    func cancellationHeld(workspace: String, token: String) throws -> Int64?

    /// When (ms) the mapping `mappingKey` ran for `subject` under `once_per`, if it did.
    func oncePerRanAt(workspace: String, mappingKey: String, subject: String) throws -> Int64?
    /// Records that the mapping `mappingKey` ran for `subject`.
    func recordOncePer(workspace: String, mappingKey: String, subject: String, at ms: Int64) throws
    /// The run of `automation` the event at `seq` started, if any.
    func runStarted(byEventAt seq: Int64, automation: String) throws -> Int64?
    /// Creates a run, due at once at its first step; returns its id.
    func startRun(_ run: NewRun, at ms: Int64) throws -> Int64

    /// Whether any run of `workspace` is waiting for an event named `event` (a cheap check
    /// made for every event before resolving its recipient).
    func hasWaitingRuns(workspace: String, event: String) throws -> Bool
    /// The runs of `recipient` waiting for `event` whose wait has not ended at `ms`.
    func waitingRuns(workspace: String, recipient: String, event: String, at ms: Int64) throws -> [WaitingRun]
    /// Ends wait `waitId` with the event at `seq` and makes its run due at `ms`; false when
    /// the wait had already ended (it arrived or timed out meanwhile).
    func endWait(waitId: Int64, runId: Int64, arrivedWith seq: Int64, at ms: Int64) throws -> Bool
}
