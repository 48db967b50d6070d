import GRDB
import SegmentSpec

/// A queued message claimed for one attempt, with what its channel needs.
public struct ClaimedMessage: Sendable, Hashable {
    /// The message, its attempt number included.
    public let message: OutgoingMessage
    /// The configuration version its run is pinned to (where its channel is defined).
    public let configVersion: Int
}

/// The result of one attempt, or of the decision not to make one now.
public struct DeliveryRecord: Sendable, Hashable {
    /// What is recorded for the message.
    public enum Change: Sendable, Hashable {
        /// A final status (`sent`, `undeliverable`) with its reason.
        case final(MessageStatus, reason: String)
        /// The attempt failed; try again at `at` (epoch milliseconds). The message stays `queued`.
        case retry(reason: String, at: Int64)
        /// Not attempted (its endpoint's breaker is open, or it is busy); due again at `at`,
        /// with no attempt counted and nothing added to its history.
        case postpone(at: Int64)
    }

    /// The message.
    public let id: String
    /// The attempt this records (attempts made so far).
    public let attempt: Int
    /// What to record.
    public let change: Change

    /// A record of `change` for message `id` after attempt `attempt`.
    public init(id: String, attempt: Int, change: Change) {
        self.id = id
        self.attempt = attempt
        self.change = change
    }
}

extension HeraldStore {
    /// Whether any queued message is due at `now` and not leased (a read, so an idle delivery
    /// service does not take the writer ingest shares).
    public func hasDueMessages(now: Int64) async throws -> Bool {
        try await writer.read { db in
            try Bool.fetchOne(
                db.cachedStatement(sql: """
                    SELECT EXISTS (SELECT 1 FROM message WHERE status = 'queued' AND nextAttemptAt <= ? AND (leaseUntil IS NULL OR leaseUntil <= ?))
                    """),
                arguments: [now, now]) ?? false
        }
    }

    /// In one transaction: records `records`, then claims up to `limit` queued messages due at
    /// `now`, oldest first, except those of `excluded` endpoints (`workspace`, `channel`),
    /// leasing them until `leaseUntil`. A leased message is not claimed again until its lease
    /// ends, so an instance that dies mid-attempt leaves it to be attempted again, under the
    /// same id, once the lease is over.
    public func recordAndClaim(
        _ records: [DeliveryRecord], now: Int64, limit: Int, excluding excluded: Set<DeliveryEndpoint>, leaseUntil: Int64
    ) async throws -> [ClaimedMessage] {
        try await writer.write { db in
            try Self.record(records, now: now, db)
            guard limit > 0 else { return [] }
            var sql = "SELECT id FROM message WHERE status = 'queued' AND nextAttemptAt <= ? AND (leaseUntil IS NULL OR leaseUntil <= ?)"
            var arguments: StatementArguments = [now, now]
            if !excluded.isEmpty {
                sql += " AND (workspaceId || char(31) || channel) NOT IN (\(databaseQuestionMarks(count: excluded.count)))"
                for endpoint in excluded { arguments += [endpoint.workspace + "\u{1F}" + endpoint.channel] }
            }
            sql += " ORDER BY nextAttemptAt LIMIT ?"
            arguments += [limit]
            let ids = try String.fetchAll(db, sql: sql, arguments: arguments)
            guard !ids.isEmpty else { return [] }
            let lease = try db.cachedStatement(sql: "UPDATE message SET leaseUntil = ? WHERE id = ?")
            for id in ids { try lease.execute(arguments: [leaseUntil, id]) }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT m.id, m.workspaceId, m.runId, m.template, m.channel, m.subject, m.body, m.recipient, m.attempts,
                           r.configVersion, p.traits AS profileTraits
                    FROM message m JOIN run r ON r.id = m.runId
                    LEFT JOIN profile p ON p.workspaceId = m.workspaceId AND p.profileId = m.recipient
                    WHERE m.id IN (\(databaseQuestionMarks(count: ids.count))) ORDER BY m.nextAttemptAt
                    """,
                arguments: StatementArguments(ids)
            ).map { row in
                let traits: String? = row["profileTraits"]
                let attempts: Int = row["attempts"]
                return ClaimedMessage(
                    message: OutgoingMessage(
                        id: row["id"], workspace: row["workspaceId"], runId: row["runId"], template: row["template"], channel: row["channel"] ?? "",
                        subject: row["subject"], body: row["body"], recipient: row["recipient"],
                        profile: traits.flatMap { try? JSONParser.parse($0).objectValue } ?? JSONObject(), attempt: attempts + 1),
                    configVersion: row["configVersion"])
            }
        }
    }

    /// Records attempts' results (and postponements) in the caller's transaction. A message
    /// that is no longer queued (erased, or recorded by an earlier claim) is left as it is.
    static func record(_ records: [DeliveryRecord], now: Int64, _ db: Database) throws {
        guard !records.isEmpty else { return }
        let finish = try db.cachedStatement(sql: """
            UPDATE message SET status = ?, attempts = ?, nextAttemptAt = NULL, leaseUntil = NULL, updatedAt = ? WHERE id = ? AND status = 'queued'
            """)
        let retry = try db.cachedStatement(sql: """
            UPDATE message SET attempts = ?, nextAttemptAt = ?, leaseUntil = NULL, updatedAt = ? WHERE id = ? AND status = 'queued'
            """)
        let postpone = try db.cachedStatement(sql: """
            UPDATE message SET nextAttemptAt = ?, leaseUntil = NULL WHERE id = ? AND status = 'queued'
            """)
        let history = try db.cachedStatement(sql: "INSERT INTO messageStatus (messageId, status, reason, at, attempt) VALUES (?, ?, ?, ?, ?)")
        for record in records {
            switch record.change {
            case .final(let status, let reason):
                try finish.execute(arguments: [status.rawValue, record.attempt, now, record.id])
                if db.changesCount > 0 { try history.execute(arguments: [record.id, status.rawValue, reason, now, record.attempt]) }
            case .retry(let reason, let at):
                try retry.execute(arguments: [record.attempt, at, now, record.id])
                if db.changesCount > 0 {
                    let next = Timestamp(millisecondsSince1970: at).iso8601
                    try history.execute(arguments: [
                        record.id, MessageStatus.queued.rawValue, "attempt \(record.attempt) failed: \(reason); next attempt at \(next)", now, record.attempt,
                    ])
                }
            case .postpone(let at):
                try postpone.execute(arguments: [at, record.id])
            }
        }
    }
}

/// Where deliveries go, for concurrency bounds and circuit breakers: one channel of one
/// workspace (a channel has one URL).
public struct DeliveryEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The workspace.
    public let workspace: String
    /// The channel's name in that workspace's configuration.
    public let channel: String

    /// The endpoint of `channel` in `workspace`.
    public init(workspace: String, channel: String) {
        self.workspace = workspace
        self.channel = channel
    }

    public var description: String { "\(workspace)/\(channel)" }
}

extension HeraldStore {
    /// How many messages of `workspace` are in `status` now.
    public func messageCount(workspace: String, status: MessageStatus) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message WHERE workspaceId = ? AND status = ?", arguments: [workspace, status.rawValue]) ?? 0
        }
    }
}
