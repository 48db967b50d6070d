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

    /// In one transaction: records `records`, then claims queued messages due at `now`, at most
    /// `capacity.total` in all and, from each endpoint, at most what it can take now
    /// (``DeliveryCapacity/free(for:)``), endpoints with the oldest due message first. Claimed
    /// messages are leased until `leaseUntil`: one is not claimed again until its lease ends,
    /// so an instance that dies mid-attempt leaves it to be attempted again, under the same
    /// id, once the lease is over.
    ///
    /// Each endpoint is read through its own range of an index on (endpoint, due time), so a
    /// full or broken endpoint with a long queue costs one index seek, not a scan of its queue.
    public func recordAndClaim(
        _ records: [DeliveryRecord], now: Int64, capacity: DeliveryCapacity, leaseUntil: Int64
    ) async throws -> [ClaimedMessage] {
        try await writer.write { db in
            try record(records, now: now, db)
            guard capacity.total > 0 else { return [] }
            // Endpoints with queued messages, one index seek each (a loose index scan). Queued
            // messages always name their channel (only delivery channels queue).
            let first = try db.cachedStatement(sql: """
                SELECT workspaceId, channel FROM message WHERE status = 'queued' AND channel IS NOT NULL ORDER BY workspaceId, channel LIMIT 1
                """)
            let next = try db.cachedStatement(sql: """
                SELECT workspaceId, channel FROM message WHERE status = 'queued' AND channel IS NOT NULL AND (workspaceId, channel) > (?, ?)
                ORDER BY workspaceId, channel LIMIT 1
                """)
            let oldestDue = try db.cachedStatement(sql: """
                SELECT MIN(nextAttemptAt) FROM message WHERE status = 'queued' AND workspaceId = ? AND channel = ?
                """)
            var endpoints: [(endpoint: DeliveryEndpoint, oldest: Int64)] = []
            var row = try Row.fetchOne(first)
            while let found = row {
                let endpoint = DeliveryEndpoint(workspace: found["workspaceId"], channel: found["channel"])
                if capacity.free(for: endpoint) > 0,
                   let oldest = try Int64.fetchOne(oldestDue, arguments: [endpoint.workspace, endpoint.channel]), oldest <= now
                {
                    endpoints.append((endpoint, oldest))
                }
                row = try Row.fetchOne(next, arguments: [endpoint.workspace, endpoint.channel])
            }
            endpoints.sort { $0.oldest < $1.oldest }
            let due = try db.cachedStatement(sql: """
                SELECT id FROM message WHERE status = 'queued' AND workspaceId = ? AND channel = ? AND nextAttemptAt <= ?
                AND (leaseUntil IS NULL OR leaseUntil <= ?) ORDER BY nextAttemptAt LIMIT ?
                """)
            var ids: [String] = []
            for (endpoint, _) in endpoints where ids.count < capacity.total {
                let take = min(capacity.free(for: endpoint), capacity.total - ids.count)
                ids += try String.fetchAll(due, arguments: [endpoint.workspace, endpoint.channel, now, now, take])
            }
            guard !ids.isEmpty else { return [] }
            let lease = try db.cachedStatement(sql: "UPDATE message SET leaseUntil = ? WHERE id = ?")
            for id in ids { try lease.execute(arguments: [leaseUntil, id]) }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT m.id, m.workspaceId, m.runId, m.template, m.channel, m.subject, m.body, m.recipient, m.attempts,
                           m.html, m.address, m.unsubscribeURL, m.createdAt, r.configVersion, p.traits AS profileTraits
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
                        profile: traits.flatMap { try? JSONParser.parse($0).objectValue } ?? JSONObject(), attempt: attempts + 1,
                        html: row["html"], address: row["address"], unsubscribeURL: row["unsubscribeURL"], createdAt: row["createdAt"]),
                    configVersion: row["configVersion"])
            }
        }
    }

    /// Records attempts' results (and postponements) in the caller's transaction, with the
    /// Segment event of each final status (`SegmentOutbox`). A message that is no longer
    /// queued (erased, or recorded by an earlier claim) is left as it is.
    func record(_ records: [DeliveryRecord], now: Int64, _ db: Database) throws {
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
                if db.changesCount > 0 {
                    try history.execute(arguments: [record.id, status.rawValue, reason, now, record.attempt])
                    try outbox(db).enqueueMessageEvent(messageId: record.id, status: status, reason: reason, at: now)
                }
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

/// How many messages one claim may take: in all, and from each endpoint.
public struct DeliveryCapacity: Sendable, Hashable {
    /// Most messages in all.
    public var total: Int
    /// What endpoints can take now, for those the caller knows (0: none, e.g. full or broken).
    public var endpoints: [DeliveryEndpoint: Int]
    /// What an endpoint not in ``endpoints`` can take.
    public var otherwise: Int

    /// A capacity of `total` messages, `endpoints` each limited as given, any other to `otherwise`.
    public init(total: Int, endpoints: [DeliveryEndpoint: Int] = [:], otherwise: Int) {
        self.total = total
        self.endpoints = endpoints
        self.otherwise = otherwise
    }

    /// Nothing: a call that only records outcomes.
    public static let none = DeliveryCapacity(total: 0, otherwise: 0)

    /// What `endpoint` can take now.
    public func free(for endpoint: DeliveryEndpoint) -> Int {
        max(0, endpoints[endpoint] ?? otherwise)
    }
}

extension HeraldStore {
    /// How many messages of `workspace` are in `status` now.
    public func messageCount(workspace: String, status: MessageStatus) async throws -> Int {
        try await writer.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message WHERE workspaceId = ? AND status = ?", arguments: [workspace, status.rawValue]) ?? 0
        }
    }
}
