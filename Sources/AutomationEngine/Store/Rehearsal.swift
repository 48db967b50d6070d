import GRDB
import SegmentSpec

/// A dry run's transaction, always rolled back: the real engine's operations
/// (``EventEffects``, ``RunSteps``) plus what only a rehearsal does — putting a draft
/// configuration in force, appending the event without deduplication, reading back what the
/// runs did.
struct Rehearsal: RehearsalTransaction {
    let db: Database
    let store: HeraldStore

    /// The event processor's operations in this transaction.
    var effects: any EventTransaction { EventEffects(db: db, store: store) }
    /// The step worker's operations in this transaction.
    var steps: any StepTransaction { RunSteps(db: db, store: store) }

    /// Puts `yaml` in force as the workspace's next version (rolled back with the rest).
    func applyDraft(_ yaml: String, workspace: String, at time: Timestamp) throws {
        let next = (try versionInForce(workspace: workspace) ?? 0) + 1
        try db.execute(
            sql: "INSERT INTO configVersion (workspaceId, version, yaml, appliedAt) VALUES (?, ?, ?, ?)",
            arguments: [workspace, next, yaml, time.millisecondsSince1970])
    }

    /// The workspace's configuration version in force, if any.
    func versionInForce(workspace: String) throws -> Int? {
        try Int.fetchOne(db, sql: "SELECT MAX(version) FROM configVersion WHERE workspaceId = ?", arguments: [workspace])
    }

    /// Appends the event to the log as it would be stored (no deduplication: a rehearsal
    /// may replay an event that already arrived).
    func append(_ event: IngestEvent) throws -> StoredEvent {
        try db.execute(
            sql: """
                INSERT INTO event (workspaceId, messageId, type, name, userId, anonymousId, receivedAt, timestamp, settings, warnings, raw)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [event.workspaceId, event.messageId, event.type.rawValue, event.name, event.userId, event.anonymousId,
                        event.receivedAt.millisecondsSince1970, event.timestamp.millisecondsSince1970, event.settings, event.warningsJSON, event.raw])
        return StoredEvent(seq: db.lastInsertedRowID, appended: event)
    }

    /// Run `id` as it stands.
    func run(id: Int64) throws -> RunRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id]).map(RunRecord.init(row:))
    }

    /// What each step of run `id` did, oldest first.
    func history(runId: Int64) throws -> [RunStepEntry] {
        try HeraldStore.runHistory(runId: runId, db)
    }

    /// The messages run `id` wrote, oldest first.
    func messages(runId: Int64) throws -> [MessageRecord] {
        try HeraldStore.messages(db, sql: "SELECT rowid, * FROM message WHERE runId = ? ORDER BY rowid", arguments: [runId])
    }
}

extension HeraldStore {
    /// Runs `body` in a write transaction that is always rolled back.
    func rehearse<T: Sendable>(_ body: @escaping @Sendable (any RehearsalTransaction) throws -> T) async throws -> T {
        try await writer.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(Rehearsal(db: db, store: self))
                return .rollback
            }
            return result!
        }
    }

    /// Runs `body` with the event processor's operations in one write transaction, kept
    /// only when `keep` is true (a replay, or its dry run).
    func replayEventEffects<T: Sendable>(keep: Bool, _ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T {
        try await writer.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(EventEffects(db: db, store: self))
                return keep ? .commit : .rollback
            }
            return result!
        }
    }
}
