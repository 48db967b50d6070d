import Foundation
import GRDB
import SegmentSpec

/// The step worker's reads and writes inside one transaction: all its SQL, by intent.
struct RunSteps: StepTransaction {
    let db: Database
    let store: HeraldStore
    /// One per transaction: it remembers the workspaces' Segment destinations it read.
    private let outbox: SegmentOutbox

    init(db: Database, store: HeraldStore) {
        self.db = db
        self.store = store
        outbox = store.outbox(db)
    }

    /// The runs due at `ms`, oldest due first.
    func dueRuns(at ms: Int64, limit: Int) throws -> [PendingRun] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT * FROM run WHERE state = 'pending' AND dueAt <= ? ORDER BY dueAt, id LIMIT ?"), arguments: [ms, limit]
        ).map(Self.pendingRun)
    }

    /// Run `id` if it is still pending and due at `ms` (an earlier step of the batch may have cancelled it).
    func pendingRun(id: Int64, dueAt ms: Int64) throws -> PendingRun? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM run WHERE id = ? AND state = 'pending' AND dueAt <= ?"), arguments: [id, ms])
            .map(Self.pendingRun)
    }

    /// Run `id` if it is pending, whenever it is due (dry runs step through simulated time).
    func pendingRun(id: Int64) throws -> (run: PendingRun, dueAt: Int64)? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM run WHERE id = ? AND state = 'pending'"), arguments: [id]) else { return nil }
        return (Self.pendingRun(row), row["dueAt"])
    }

    private static func pendingRun(_ row: Row) -> PendingRun {
        PendingRun(
            id: row["id"], workspace: row["workspaceId"], automation: row["automation"], configVersion: row["configVersion"],
            nextStep: row["nextStep"], recipient: row["recipient"], scope: row["scope"], eventSeq: row["eventSeq"])
    }

    /// The configuration version a run is pinned to.
    func configuration(workspace: String, version: Int) throws -> HeraldConfiguration? {
        try store.configuration(workspace: workspace, version: version, db)
    }

    /// Profiles and groups of `workspace`, in this transaction.
    func profiles(workspace: String, time: Timestamp) -> any ProfileTransaction {
        ProfileStore(db: db, workspace: workspace, time: time, store: store)
    }

    func preferenceChoices(workspace: String, profileId: String) throws -> [PreferenceRecord] {
        try PreferenceRecords(db: db, workspace: workspace).choices(of: profileId)
    }

    func preferenceLinkKey(workspace: String) throws -> [UInt8] {
        try PreferenceRecords(db: db, workspace: workspace).signingKey()
    }

    /// Appends to the run's step history (append-only).
    func recordStep(runId: Int64, step: Int, outcome: String, at ms: Int64) throws {
        try db.cachedStatement(sql: "INSERT INTO runStep (runId, step, outcome, at) VALUES (?, ?, ?, ?)").execute(arguments: [runId, step, outcome, ms])
    }

    /// Moves the run to its next step, due at `dueAt`.
    func advance(runId: Int64, dueAt: Int64, at ms: Int64) throws {
        try db.cachedStatement(sql: "UPDATE run SET nextStep = nextStep + 1, dueAt = ?, updatedAt = ? WHERE id = ?").execute(arguments: [dueAt, ms, runId])
    }

    /// Ends the run (`completed` or `failed`) at step `step`.
    func finish(runId: Int64, state: String, step: Int, at ms: Int64) throws {
        try db.cachedStatement(sql: "UPDATE run SET state = ?, nextStep = ?, updatedAt = ? WHERE id = ?").execute(arguments: [state, step, ms, runId])
    }

    /// Cancels the workspace's other pending runs with `token`; returns how many.
    func cancelPendingRuns(workspace: String, token: String, except runId: Int64, at ms: Int64) throws -> Int {
        try db.execute(
            sql: "UPDATE run SET state = 'cancelled', updatedAt = ? WHERE workspaceId = ? AND token = ? AND state = 'pending' AND id != ?",
            arguments: [ms, workspace, token, runId])
        return db.changesCount
    }

    /// Replaces a profile's traits (creating the profile when new).
    func saveProfileTraits(workspace: String, profileId: String, traits: JSONObject, at ms: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO profile (workspaceId, profileId, userId, traits, createdAt, updatedAt) VALUES (?, ?, NULL, ?, ?, ?)
                ON CONFLICT (workspaceId, profileId) DO UPDATE SET traits = excluded.traits, updatedAt = excluded.updatedAt
                """,
            arguments: [workspace, profileId, JSONValue.object(traits).encodedString(), ms, ms])
    }

    /// The workspace's Segment settings in force (nil: it sends nothing to Segment).
    func segmentDestination(workspace: String) throws -> SegmentDestination? {
        try outbox.destination(workspace: workspace)
    }

    /// Writes a `segment` step's call to the outbox (once per run and step); false when it was written before.
    func enqueueSegmentCall(runId: Int64, step: Int, workspace: String, recipient: String, type: String, fields: JSONObject, at ms: Int64) throws -> Bool {
        try outbox.enqueueStepCall(runId: runId, step: step, workspace: workspace, recipient: recipient, type: type, fields: fields, at: ms)
    }

    /// The key that signs tracking tokens.
    func trackingKey() throws -> Data {
        try store.trackingKey(db)
    }

    /// Writes a new message and its first status (with its Segment event, when the status has
    /// one); a `queued` one is due for delivery at once. Returns false, writing nothing, when
    /// a message with its id exists (a step re-run never sends twice).
    func insertIfNew(_ message: NewMessage, at ms: Int64) throws -> Bool {
        try db.cachedStatement(
            sql: """
                INSERT INTO message (id, workspaceId, runId, recipient, channel, channelType, template, subject, body, status, createdAt, updatedAt, nextAttemptAt,
                                     links, html, address, unsubscribeURL)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
                """
        ).execute(
            arguments: [message.id, message.workspace, message.runId, message.recipient, message.channel, message.channelType, message.template,
                        message.subject, message.body, message.status.rawValue, ms, ms, message.status == .queued ? ms : nil,
                        message.links.map { JSONValue.array($0.map(JSONValue.string)).encodedString() },
                        message.html, message.address, message.unsubscribeURL])
        guard db.changesCount > 0 else { return false }
        try db.cachedStatement(sql: "INSERT INTO messageStatus (messageId, status, reason, at) VALUES (?, ?, ?, ?)")
            .execute(arguments: [message.id, message.status.rawValue, message.reason, ms])
        try outbox.enqueueMessageEvent(messageId: message.id, status: message.status, reason: message.reason, at: ms, workspace: message.workspace)
        return true
    }
}

extension HeraldStore {
    /// Whether any pending run has a step due at `ms` (a read: the writer is taken only when one is).
    func hasDueSteps(at ms: Int64) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM run WHERE state = 'pending' AND dueAt <= ?)"), arguments: [ms]) ?? false
        }
    }

    /// Runs `body` in one write transaction with the step worker's operations.
    func writeSteps<T: Sendable>(_ body: @escaping @Sendable (any StepTransaction) throws -> T) async throws -> T {
        try await writer.write { db in try body(RunSteps(db: db, store: self)) }
    }
}
