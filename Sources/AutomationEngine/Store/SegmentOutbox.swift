import Foundation
import GRDB
import SegmentClient
import SegmentSpec

/// Writes Segment calls into the outbox inside the caller's transaction, so a call exists if
/// and only if the change that causes it committed (DESIGN §5).
///
/// A call is written only when the workspace's configuration in force has `segment:` (and,
/// for Herald's own track events, lists the event); each gets its Segment `messageId` here,
/// once, and keeps it across every attempt and restart. A `key` names the logical event
/// (`message:<id>:Message Opened`): a second call under the same key is not written, so the
/// same change recorded twice sends once.
struct SegmentOutbox {
    let db: Database
    let store: HeraldStore
    /// The destinations read so far in this transaction, by workspace: a transaction sees one
    /// configuration version, and the step worker asks once per message it writes.
    private let destinations = DestinationMemo()

    init(db: Database, store: HeraldStore) {
        self.db = db
        self.store = store
    }

    /// Writes a call of `type` (`track`, `identify`, ...) for `workspace`, made of `fields`
    /// (identity, `event`, `properties`, `traits` ...) plus what every call carries: `type`,
    /// a new `messageId`, `timestamp` (`at`) and `context.library`. Returns whether it was
    /// written (not when the workspace sends nothing to Segment, the event is not in its
    /// `events:`, or a call with this key exists).
    @discardableResult
    func enqueue(workspace: String, key: String, type: String, fields: JSONObject, at ms: Int64) throws -> Bool {
        guard let destination = try destination(workspace: workspace) else { return false }
        if type == "track", let name = fields["event"]?.stringValue, let event = SegmentSourceEvent(rawValue: name),
           !destination.events.contains(event) {
            return false
        }
        var call = fields
        call["type"] = .string(type)
        let messageId = UUID().uuidString.lowercased()
        call["messageId"] = .string(messageId)
        call["timestamp"] = .string(Timestamp(millisecondsSince1970: ms).iso8601)
        var context = call["context"]?.objectValue ?? JSONObject()
        context["library"] = ["name": .string(SegmentLibrary.herald.name), "version": .string(SegmentLibrary.herald.version)]
        call["context"] = .object(context)
        try db.cachedStatement(sql: """
            INSERT INTO segmentOutbox (workspaceId, key, subject, messageId, call, state, attempts, nextAttemptAt, createdAt)
            VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (workspaceId, key) DO NOTHING
            """).execute(arguments: [
                workspace, key, (fields["userId"] ?? fields["anonymousId"])?.stringValue, messageId, JSONValue.object(call).encodedString(), ms, ms,
            ])
        return db.changesCount > 0
    }

    /// Removes the calls about `subject` (a userId or anonymousId) not sent yet: a `delete`
    /// erases the user, and a call still waiting would carry their data out afterwards.
    static func erase(workspace: String, subject: String, _ db: Database) throws {
        try db.execute(sql: "DELETE FROM segmentOutbox WHERE workspaceId = ? AND subject = ?", arguments: [workspace, subject])
    }

    /// The `segment:` of the workspace's configuration in force.
    func destination(workspace: String) throws -> SegmentDestination? {
        if let known = destinations.byWorkspace[workspace] { return known }
        let found = try readDestination(workspace: workspace)
        destinations.byWorkspace[workspace] = .some(found)
        return found
    }

    private func readDestination(workspace: String) throws -> SegmentDestination? {
        guard let version = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT MAX(version) FROM configVersion WHERE workspaceId = ?"), arguments: [workspace])
        else { return nil }
        do {
            return try store.configuration(workspace: workspace, version: version, db)?.segment
        } catch is ConfigurationError {
            return nil  // a version that no longer parses sends nothing; the engine reports it
        }
    }

    /// The identity of a run's recipient for Segment: their profile's `userId`, else the
    /// `anonymousId` of the event that started the run when that is who they are, else the
    /// profile id as `userId`.
    func identity(workspace: String, profileId: String, runId: Int64) throws -> JSONObject {
        let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT p.userId AS profileUserId, e.anonymousId AS eventAnonymousId FROM run r
                LEFT JOIN event e ON e.seq = r.eventSeq
                LEFT JOIN profile p ON p.workspaceId = ? AND p.profileId = ?
                WHERE r.id = ?
                """),
            arguments: [workspace, profileId, runId])
        var fields = JSONObject()
        if let userId: String = row?["profileUserId"] {
            fields["userId"] = .string(userId)
        } else if let anonymousId: String = row?["eventAnonymousId"], anonymousId == profileId {
            fields["anonymousId"] = .string(profileId)
        } else {
            fields["userId"] = .string(profileId)
        }
        return fields
    }

    /// Writes the call of a `segment` step (once per run and step) about the run's recipient,
    /// unless `fields` names its own `userId` or `anonymousId`.
    func enqueueStepCall(runId: Int64, step: Int, workspace: String, recipient: String, type: String, fields: JSONObject, at ms: Int64) throws -> Bool {
        var call = fields
        if call["userId"] == nil && call["anonymousId"] == nil {
            for member in try identity(workspace: workspace, profileId: recipient, runId: runId) { call[member.key] = member.value }
        }
        return try enqueue(workspace: workspace, key: "step:run-\(runId)-step-\(step)", type: type, fields: call, at: ms)
    }

    /// Writes the track event of message `id` entering `status` (`Message Sent`, ...), with
    /// the message's properties, attributed to its recipient's `userId` (or `anonymousId`, for
    /// a recipient known only by the anonymous id of the event that started the run). A message without a recipient sends nothing: Segment needs an id.
    @discardableResult
    func enqueueMessageEvent(
        messageId id: String, status: MessageStatus, reason: String?, url: String? = nil, at ms: Int64, workspace known: String? = nil
    ) throws -> Bool {
        guard let event = SegmentSourceEvent(entering: status) else { return false }
        // Most workspaces send nothing to Segment: find that out before reading the message.
        guard let workspace = try known ?? String.fetchOne(db.cachedStatement(sql: "SELECT workspaceId FROM message WHERE id = ?"), arguments: [id]),
              let destination = try destination(workspace: workspace), destination.events.contains(event)
        else { return false }
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT m.workspaceId, m.runId, m.recipient, m.channel, m.channelType, m.template, r.automation,
                       e.messageId AS eventMessageId, e.anonymousId AS eventAnonymousId, p.userId AS profileUserId
                FROM message m LEFT JOIN run r ON r.id = m.runId
                LEFT JOIN event e ON e.seq = r.eventSeq
                LEFT JOIN profile p ON p.workspaceId = m.workspaceId AND p.profileId = m.recipient
                WHERE m.id = ?
                """),
            arguments: [id])
        else { return false }
        let recipient: String = row["recipient"]
        guard !recipient.isEmpty else { return false }
        var fields = JSONObject()
        // The recipient is a profile id: the user's userId, or the anonymousId of someone never identified.
        if let userId: String = row["profileUserId"] {
            fields["userId"] = .string(userId)
        } else if let anonymousId: String = row["eventAnonymousId"], anonymousId == recipient {
            fields["anonymousId"] = .string(recipient)
        } else {
            fields["userId"] = .string(recipient)
        }
        fields["event"] = .string(event.rawValue)
        var properties = JSONObject()
        properties["message_id"] = .string(id)
        properties["status"] = .string(status.rawValue)
        for (name, column) in [("automation", "automation"), ("template", "template"), ("channel", "channel"), ("channel_type", "channelType"),
                               ("event_message_id", "eventMessageId")] {
            if let value: String = row[column] { properties[name] = .string(value) }
        }
        properties["run_id"] = .number(JSONNumber(row["runId"] as Int64))
        properties["recipient"] = .string(recipient)
        if let reason, status == .undeliverable || status == .unroutable { properties["reason"] = .string(reason) }
        if let url { properties["url"] = .string(url) }
        fields["properties"] = .object(properties)
        return try enqueue(workspace: row["workspaceId"], key: "message:\(id):\(event.rawValue)", type: "track", fields: fields, at: ms)
    }
}

/// A call in the outbox, claimed for sending.
public struct OutboxEntry: Sendable, Hashable {
    /// Row id.
    public let id: Int64
    /// The workspace whose Segment source it goes to.
    public let workspace: String
    /// Its Segment messageId (also inside ``call``).
    public let messageId: String
    /// The call as JSON text.
    public let call: String
    /// Attempts made before this one.
    public let attempts: Int
    /// Whether it goes in a batch of its own (its batch was refused: one call may be the reason).
    public let alone: Bool
}

/// A call in the outbox, as listed.
public struct OutboxCall: Sendable, Hashable {
    /// Its Segment messageId.
    public let messageId: String
    /// The logical event it is (`message:<id>:Message Sent`).
    public let key: String
    /// The call as JSON text.
    public let call: String
    /// Whether Segment refused it for good.
    public let rejected: Bool
    /// Attempts made.
    public let attempts: Int
    /// Why the last attempt failed.
    public let lastError: String?
}

/// What became of a claimed call.
public enum OutboxSettlement: Sendable, Hashable {
    /// Segment took it: it leaves the outbox.
    case sent(id: Int64)
    /// Refused for good: kept as `rejected` with the reason, no longer sent.
    case rejected(id: Int64, reason: String)
    /// Try again at `at` (epoch ms), under the same messageId; `alone` sends it in a batch of its own.
    case retry(id: Int64, at: Int64, reason: String, alone: Bool)
}

extension HeraldStore {
    /// Runs `body` with the outbox of the caller's transaction.
    func outbox(_ db: Database) -> SegmentOutbox {
        SegmentOutbox(db: db, store: self)
    }

    /// Whether a pending call is due at `now` and not leased (a read).
    public func hasDueOutboxCalls(now: Int64) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM segmentOutbox WHERE state = 'pending' AND nextAttemptAt <= ? AND (leaseUntil IS NULL OR leaseUntil <= ?))
                    """),
                arguments: [now, now]) ?? false
        }
    }

    /// In one transaction: records `settlements`, then claims up to `limit` pending calls due
    /// at `now`, oldest first, leased until `leaseUntil` (a sender that dies leaves them to be
    /// sent again, under the same messageIds, once the lease ends).
    public func settleAndClaimOutbox(_ settlements: [OutboxSettlement], now: Int64, limit: Int, leaseUntil: Int64) async throws -> [OutboxEntry] {
        try await writer.write { db in
            let sent = try db.cachedStatement(sql: "DELETE FROM segmentOutbox WHERE id = ?")
            let rejected = try db.cachedStatement(sql: """
                UPDATE segmentOutbox SET state = 'rejected', attempts = attempts + 1, lastError = ?, leaseUntil = NULL WHERE id = ?
                """)
            let retry = try db.cachedStatement(sql: """
                UPDATE segmentOutbox SET attempts = attempts + 1, nextAttemptAt = ?, lastError = ?, alone = ?, leaseUntil = NULL WHERE id = ?
                """)
            for settlement in settlements {
                switch settlement {
                case .sent(let id): try sent.execute(arguments: [id])
                case .rejected(let id, let reason): try rejected.execute(arguments: [reason, id])
                case .retry(let id, let at, let reason, let alone): try retry.execute(arguments: [at, reason, alone, id])
                }
            }
            guard limit > 0 else { return [] }
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT id, workspaceId, messageId, call, attempts, alone FROM segmentOutbox
                    WHERE state = 'pending' AND nextAttemptAt <= ? AND (leaseUntil IS NULL OR leaseUntil <= ?)
                    ORDER BY nextAttemptAt, id LIMIT ?
                    """),
                arguments: [now, now, limit])
            let lease = try db.cachedStatement(sql: "UPDATE segmentOutbox SET leaseUntil = ? WHERE id = ?")
            return try rows.map { row in
                try lease.execute(arguments: [leaseUntil, row["id"] as Int64])
                return OutboxEntry(
                    id: row["id"], workspace: row["workspaceId"], messageId: row["messageId"], call: row["call"], attempts: row["attempts"],
                    alone: row["alone"])
            }
        }
    }

    /// Calls waiting to be sent (the outbox's depth), and calls refused for good.
    public func outboxCounts() async throws -> (pending: Int, rejected: Int) {
        try await writer.read { db in
            let pending = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segmentOutbox WHERE state = 'pending'") ?? 0
            let rejected = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segmentOutbox WHERE state = 'rejected'") ?? 0
            return (pending, rejected)
        }
    }

    /// The calls of `workspace` still in the outbox (waiting, or refused for good), oldest first.
    public func outboxCalls(workspace: String, limit: Int = 100) async throws -> [OutboxCall] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM segmentOutbox WHERE workspaceId = ? ORDER BY id LIMIT ?", arguments: [workspace, limit]
            ).map { row in
                OutboxCall(
                    messageId: row["messageId"], key: row["key"], call: row["call"], rejected: (row["state"] as String) == "rejected",
                    attempts: row["attempts"], lastError: row["lastError"])
            }
        }
    }

    /// The `segment:` settings of the configuration `workspace` has in force, secrets resolved.
    public func segmentDestination(workspace: String) async throws -> SegmentDestination? {
        try await writer.read { db in try self.outbox(db).destination(workspace: workspace) }
    }
}

/// A transaction's memo of workspaces' Segment destinations (`.some(nil)`: none).
private final class DestinationMemo {
    var byWorkspace: [String: SegmentDestination?] = [:]
}
