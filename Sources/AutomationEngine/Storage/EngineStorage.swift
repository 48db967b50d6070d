import Foundation
import SegmentSpec

/// Everything the engine asks of a store, by intent: appending what ingest accepted, the
/// event processor's, step worker's and delivery service's transactions, and parsed
/// configurations.
///
/// The engine (`Engine/`, `Delivery/`, `Ingest/`) holds an `any EngineStorage` and never
/// sees SQL. ``HeraldStore`` (`Store/`, SQLite through GRDB) is the implementation Herald
/// ships; a second backend implements this protocol and the transaction protocols beside it
/// (``EventTransaction``, ``StepTransaction``, ``ProfileTransaction``,
/// ``RehearsalTransaction``), keeping the invariants in ARCHITECTURE.md.
///
/// Transaction bodies are synchronous: a backend runs one on a thread it may block (GRDB
/// does so for SQLite; a PostgreSQL backend waits on its connection's futures the same way),
/// and commits only if the body returns.
protocol EngineStorage: Sendable {
    // MARK: Ingest

    /// Appends each submission's events in one durable transaction (a group commit), refusing
    /// the submissions of keys revoked meanwhile; deduplicates by `(workspace, messageId)`
    /// within `dedupWindow` milliseconds.
    func appendSubmissions(
        _ submissions: [(keyHash: Data?, events: [IngestEvent])], dedupWindow: Int64
    ) async throws -> [Result<[AppendOutcome], IngestError>]

    /// Whether an ingest key with this hash exists and is not revoked.
    func keyIsValid(hash: Data) async throws -> Bool

    /// Removes expired deduplication keys, `batchSize` per transaction; returns how many.
    func pruneDedupKeys(olderThan cutoff: Timestamp, batchSize: Int) async throws -> Int

    // MARK: Retention

    /// Removes up to `batchSize` records of `kind` older than `cutoff` (only what
    /// ``RetainedRecord`` allows), in one transaction; returns how many.
    func prune(_ kind: RetainedRecord, olderThan cutoff: Timestamp, batchSize: Int) async throws -> Int

    /// How many records of `kind` a prune at `cutoff` would remove now.
    func countPrunable(_ kind: RetainedRecord, olderThan cutoff: Timestamp) async throws -> Int

    /// Removes counted sends older than the longest cap window of their workspace's
    /// configuration in force, `batchSize` per transaction; returns how many.
    func pruneCapLedger(now: Timestamp, batchSize: Int) async throws -> Int

    // MARK: Event processing

    /// Runs `body` outside the single writer (gathering a pass's events).
    func readEventEffects<T: Sendable>(_ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T

    /// Runs `body` in one write transaction: an event's effects and the cursor's move commit together.
    func writeEventEffects<T: Sendable>(_ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T

    /// Runs `body` in one write transaction, committed only when `keep` (a replay, or its dry run).
    func replayEventEffects<T: Sendable>(keep: Bool, _ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T

    /// Runs `body` in a write transaction that is always rolled back (a dry run).
    func rehearse<T: Sendable>(_ body: @escaping @Sendable (any RehearsalTransaction) throws -> T) async throws -> T

    // MARK: Steps

    /// Whether any pending run has a step due at `ms` (a read: the writer is taken only when one is).
    func hasDueSteps(at ms: Int64) async throws -> Bool

    /// When the next pending step is due, if any run is pending.
    func nextStepDue() async throws -> Timestamp?

    /// Runs `body` in one write transaction: claim due steps, run them, record their outcomes.
    func writeSteps<T: Sendable>(_ body: @escaping @Sendable (any StepTransaction) throws -> T) async throws -> T

    // MARK: Delivery

    /// Whether any queued message is due at `now` and not leased.
    func hasDueMessages(now: Int64) async throws -> Bool

    /// In one transaction: records `records`, then claims (leases until `leaseUntil`) due
    /// queued messages within `capacity`, in all and per endpoint. A full or broken endpoint's
    /// queue must cost the claim next to nothing, however long it is.
    func recordAndClaim(_ records: [DeliveryRecord], now: Int64, capacity: DeliveryCapacity, leaseUntil: Int64) async throws -> [ClaimedMessage]

    // MARK: Configuration

    /// Version `version` of the workspace's configuration, parsed once per version per process.
    /// - Throws: ``ConfigurationError`` when the stored version no longer parses.
    func configuration(workspace: String, version: Int) async throws -> HeraldConfiguration?

    /// The same store with a configuration cache of its own and no secrets (dry runs put a
    /// draft in force inside a transaction they roll back; no other cache may see it).
    func isolatedForDryRun() -> any EngineStorage

    /// Words for a store failure an operator can act on (the database's message, not a dump).
    func describe(_ error: any Error) -> String
}
