import GRDB
import SegmentSpec

/// The event processor's reads and writes inside one transaction: all its SQL, by intent.
///
/// The processor reads the log past its cursor, applies each event's effects (profiles, runs,
/// cancellations, `once_per` ledger, explain trace) and moves the cursor, all through this
/// type, so a second store backend implements these operations and nothing in `Engine/`.
struct EventEffects: EventTransaction {
    let db: Database
    let store: HeraldStore

    // MARK: The log

    /// The next `limit` positions of the log past the engine's cursor, in order.
    func pendingPositions(limit: Int) throws -> [Int64] {
        let cursor = try Int64.fetchOne(db.cachedStatement(sql: "SELECT lastSeq FROM engineCursor WHERE id = 1")) ?? 0
        return try Int64.fetchAll(
            db.cachedStatement(sql: "SELECT seq FROM event WHERE seq > ? ORDER BY seq LIMIT ?"), arguments: [cursor, limit])
    }

    /// The stored events at `positions` (increasing); positions erased since are absent.
    func events(at positions: [Int64]) throws -> [StoredEvent] {
        // Positions are few and increasing: one range read covers them.
        guard let first = positions.first, let last = positions.last else { return [] }
        let wanted = Set(positions)
        var found: [StoredEvent] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT * FROM event WHERE seq BETWEEN ? AND ?", arguments: [first, last])
        while let row = try rows.next() {
            let stored = StoredEvent(row: row)
            if wanted.contains(stored.seq) { found.append(stored) }
        }
        return found
    }

    /// The stored event at `seq`, unless it was erased.
    func event(at seq: Int64) throws -> StoredEvent? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM event WHERE seq = ?"), arguments: [seq]).map(StoredEvent.init(row:))
    }

    /// The workspace's processed events received in `[from, to)` past `seq`, for a replay:
    /// at most `limit`, in log order.
    func processedEvents(workspace: String, after seq: Int64, receivedFrom from: Timestamp?, to: Timestamp?, limit: Int) throws -> [StoredEvent] {
        try Row.fetchAll(
            db, sql: """
                SELECT * FROM event WHERE workspaceId = ? AND seq > ? AND type != 'delete'
                AND receivedAt >= ? AND receivedAt < ?
                AND seq <= COALESCE((SELECT lastSeq FROM engineCursor WHERE id = 1), 0)
                ORDER BY seq LIMIT ?
                """,
            arguments: [workspace, seq, from?.millisecondsSince1970 ?? Int64.min, to?.millisecondsSince1970 ?? Int64.max, limit]
        ).map(StoredEvent.init(row:))
    }

    /// Moves the engine's cursor to `seq`: every event up to it has been processed.
    func advanceCursor(to seq: Int64) throws {
        try db.execute(
            sql: "INSERT INTO engineCursor (id, lastSeq) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET lastSeq = excluded.lastSeq", arguments: [seq])
    }

    /// Adds a pass's event names to the `eventName` counts (what arrived, how often, when last).
    func record(_ names: EventNameTally) throws {
        try names.save(db)
    }

    /// Keeps the explain trace of the event at `seq`.
    func saveTrace(_ trace: EventTrace, seq: Int64, workspace: String) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO eventTrace (seq, workspaceId, trace) VALUES (?, ?, ?)")
            .execute(arguments: [seq, workspace, trace.json.encodedString()])
    }

    // MARK: Configuration

    /// The version in force for `workspace` (its latest), parsed once per version per process.
    /// - Throws: ``ConfigurationError`` when the stored version no longer parses.
    func configurationInForce(workspace: String) throws -> (version: Int, configuration: HeraldConfiguration)? {
        guard let version = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(version) FROM configVersion WHERE workspaceId = ?"), arguments: [workspace])
        else { return nil }
        guard let configuration = try store.configuration(workspace: workspace, version: version, db) else { return nil }
        return (version, configuration)
    }

    // MARK: Profiles

    /// Profiles and groups of `workspace`, in this transaction.
    func profiles(workspace: String, time: Timestamp) -> any ProfileTransaction {
        ProfileStore(db: db, workspace: workspace, time: time, store: store)
    }

    // MARK: Cancellation

    /// Cancels the workspace's pending runs with `token`; returns the automation of each.
    func cancelPendingRuns(workspace: String, token: String, at ms: Int64) throws -> [String] {
        try String.fetchAll(
            db, sql: "UPDATE run SET state = 'cancelled', updatedAt = ? WHERE workspaceId = ? AND token = ? AND state = 'pending' RETURNING automation",
            arguments: [ms, workspace, token])
    }

    /// Keeps `token` cancelled until `until` (ms), so runs created meanwhile are cancelled too.
    func holdCancellation(workspace: String, token: String, until: Int64) throws {
        try db.execute(
            sql: "INSERT INTO cancellation (workspaceId, token, until) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET until = excluded.until",
            arguments: [workspace, token, until])
    }

    /// Until when (ms) a cancellation of `token` holds, if one was ever made.
    func cancellationHeld(workspace: String, token: String) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT until FROM cancellation WHERE workspaceId = ? AND token = ?"), arguments: [workspace, token])
    }

    // MARK: Runs and once_per

    /// When (ms) the mapping `mappingKey` last ran for `subject` under `once_per`, if it did.
    func oncePerRanAt(workspace: String, mappingKey: String, subject: String) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT ranAt FROM oncePerLedger WHERE workspaceId = ? AND mappingKey = ? AND subject = ?"),
            arguments: [workspace, mappingKey, subject])
    }

    /// Records that the mapping `mappingKey` ran for `subject`.
    func recordOncePer(workspace: String, mappingKey: String, subject: String, at ms: Int64) throws {
        try db.cachedStatement(sql: "INSERT INTO oncePerLedger (workspaceId, mappingKey, subject, ranAt) VALUES (?, ?, ?, ?)")
            .execute(arguments: [workspace, mappingKey, subject, ms])
    }

    /// The run of `automation` the event at `seq` started, if any (a replay starts none twice).
    func runStarted(byEventAt seq: Int64, automation: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM run WHERE eventSeq = ? AND automation = ? LIMIT 1", arguments: [seq, automation])
    }

    /// Creates a run, due at once at its first step; returns its id.
    func startRun(_ run: NewRun, at ms: Int64) throws -> Int64 {
        try db.cachedStatement(
            sql: """
                INSERT INTO run (workspaceId, automation, configVersion, recipient, eventSeq, scope, token, state, nextStep, dueAt, createdAt, updatedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
                """
        ).execute(
            arguments: [run.workspace, run.automation, run.configVersion, run.recipient ?? "", run.eventSeq, run.scope, run.token, run.state,
                        ms, ms, ms])
        return db.lastInsertedRowID
    }
}

extension HeraldStore {
    /// Runs `body` on a reader with the event processor's operations (gathering a pass's
    /// events without holding the single writer, which ingest shares).
    func readEventEffects<T: Sendable>(_ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T {
        try await writer.read { db in try body(EventEffects(db: db, store: self)) }
    }

    /// Runs `body` in one write transaction with the event processor's operations.
    func writeEventEffects<T: Sendable>(_ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(EventEffects(db: db, store: self)) }
    }
}
