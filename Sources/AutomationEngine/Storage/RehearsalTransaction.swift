import SegmentSpec

/// A dry run's transaction, always rolled back: the real engine's operations plus what only
/// a rehearsal does.
protocol RehearsalTransaction {
    /// The event processor's operations in this transaction.
    var effects: any EventTransaction { get }
    /// The step worker's operations in this transaction.
    var steps: any StepTransaction { get }
    /// Puts `yaml` in force as the workspace's next version.
    func applyDraft(_ yaml: String, workspace: String, at time: Timestamp) throws
    /// The workspace's configuration version in force, if any.
    func versionInForce(workspace: String) throws -> Int?
    /// Appends the event as it would be stored, without deduplication.
    func append(_ event: IngestEvent) throws -> StoredEvent
    /// Run `id` as it stands.
    func run(id: Int64) throws -> RunRecord?
    /// What each step of run `id` did, oldest first.
    func history(runId: Int64) throws -> [RunStepEntry]
    /// The messages run `id` wrote, oldest first.
    func messages(runId: Int64) throws -> [MessageRecord]
}
