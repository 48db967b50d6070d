import Foundation
import GRDB
public import SegmentSpec

extension HeraldStore {
    /// Appends events to the log inside an open write transaction, deduplicating by
    /// `(workspace, messageId)` within `dedupWindow` (milliseconds).
    ///
    /// A `delete` event erases the user's data first; only a record without personal data
    /// is kept of it.
    static func appendEvents(_ events: [IngestEvent], dedupWindow: Int64, _ db: Database) throws -> [AppendOutcome] {
        let claim = try db.cachedStatement(sql: """
            INSERT INTO dedup (workspaceId, messageId, receivedAt) VALUES (?, ?, ?)
            ON CONFLICT (workspaceId, messageId) DO UPDATE SET receivedAt = excluded.receivedAt
            WHERE dedup.receivedAt < ?
            """)
        let insert = try db.cachedStatement(sql: """
            INSERT INTO event (workspaceId, messageId, type, name, userId, anonymousId, receivedAt, timestamp, settings, warnings, raw)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(events.count)
        for event in events {
            if !event.isExemptFromDedup {
                let received = event.receivedAt.millisecondsSince1970
                try claim.execute(arguments: [event.workspaceId, event.messageId, received, received - dedupWindow])
                if db.changesCount == 0 {
                    outcomes.append(.duplicate)
                    continue
                }
            }
            if event.type == .delete {
                outcomes.append(.accepted(seq: try erase(for: event, db)))
                continue
            }
            try insert.execute(arguments: [
                event.workspaceId, event.messageId, event.type.rawValue, event.name, event.userId, event.anonymousId,
                event.receivedAt.millisecondsSince1970, event.timestamp.millisecondsSince1970, event.settings,
                event.warningsJSON, event.raw,
            ])
            outcomes.append(.accepted(seq: db.lastInsertedRowID))
        }
        return outcomes
    }

    /// Removes every expired dedup key; returns how many were removed.
    ///
    /// A prune removes a whole interval's traffic (ten minutes of it by default), so it goes
    /// `batchSize` keys per transaction: ingest's group commits, which share the single
    /// writer, wait for one short batch instead of the whole prune.
    public func pruneDedupKeys(olderThan cutoff: Timestamp, batchSize: Int = 1_000) async throws -> Int {
        precondition(batchSize > 0, "batchSize must be positive")
        var removed = 0
        while true {
            let batch = try await writer.write { db in
                try db.execute(
                    sql: """
                        DELETE FROM dedup WHERE (workspaceId, messageId) IN (
                            SELECT workspaceId, messageId FROM dedup WHERE receivedAt < ? ORDER BY receivedAt LIMIT ?)
                        """,
                    arguments: [cutoff.millisecondsSince1970, batchSize])
                return db.changesCount
            }
            removed += batch
            if batch < batchSize { return removed }
        }
    }

    /// The most recent events of a workspace, newest first.
    public func recentEvents(workspace: String, limit: Int = 50) async throws -> [StoredEvent] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM event WHERE workspaceId = ? ORDER BY seq DESC LIMIT ?",
                arguments: [workspace, limit]
            ).map(StoredEvent.init(row:))
        }
    }

    /// The events of a workspace that match `query`: newest first, or oldest first when
    /// the query asks for events after a seq.
    public func events(workspace: String, matching query: EventQuery) async throws -> [StoredEvent] {
        var conditions = ["workspaceId = ?"]
        var arguments: StatementArguments = [workspace]
        func add(_ condition: String, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append(condition)
            arguments += [value]
        }
        add("type = ?", query.type)
        add("name = ?", query.name)
        add("userId = ?", query.userId)
        add("anonymousId = ?", query.anonymousId)
        add("messageId = ?", query.messageId)
        add("receivedAt >= ?", query.since?.millisecondsSince1970)
        add("receivedAt < ?", query.until?.millisecondsSince1970)
        add("seq < ?", query.before)
        add("seq > ?", query.after)
        let order = query.after == nil ? "DESC" : "ASC"
        let sql = "SELECT * FROM event WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq \(order) LIMIT ?"
        arguments += [query.limit]
        return try await writer.read { [sql, arguments] db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map(StoredEvent.init(row:))
        }
    }

    /// One event of a workspace by its seq.
    public func event(workspace: String, seq: Int64) async throws -> StoredEvent? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event WHERE workspaceId = ? AND seq = ?", arguments: [workspace, seq]).map(StoredEvent.init(row:))
        }
    }

    /// The events of a profile under any of its ids (userId, anonymous ids, aliases), newest first.
    public func events(workspace: String, profileIds ids: [String], before: Int64? = nil, limit: Int = 50) async throws -> [StoredEvent] {
        guard !ids.isEmpty else { return [] }
        let list = Array(repeating: "?", count: ids.count).joined(separator: ",")
        var arguments: StatementArguments = [workspace]
        arguments += StatementArguments(ids)
        arguments += StatementArguments(ids)
        arguments += [before ?? Int64.max, limit]
        return try await writer.read { [arguments] db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM event WHERE workspaceId = ? AND (userId IN (\(list)) OR anonymousId IN (\(list))) AND seq < ?
                ORDER BY seq DESC LIMIT ?
                """, arguments: arguments).map(StoredEvent.init(row:))
        }
    }

    /// Every event name the engine has consumed for a workspace, with how many arrived and
    /// when the last one did; most recent first.
    public func eventNames(workspace: String) async throws -> [(name: String, count: Int, lastSeenAt: Timestamp)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM eventName WHERE workspaceId = ? ORDER BY lastSeenAt DESC, name", arguments: [workspace]).map {
                (name: $0["name"], count: $0["count"], lastSeenAt: Timestamp(millisecondsSince1970: $0["lastSeenAt"]))
            }
        }
    }

    /// The event names received that no mapping of the configuration in force handles
    /// (all names when none is applied), most recent first.
    public func unmappedEventNames(workspace: String) async throws -> [(name: String, count: Int, lastSeenAt: Timestamp)] {
        let configuration = try await currentConfiguration(workspace: workspace)
            .flatMap { try? ConfigurationLoader.load(yaml: $0.yaml, secrets: .none, requireSecrets: false) }
        return try await eventNames(workspace: workspace).filter { $0.name != "delete" && configuration?.mappings(for: $0.name).isEmpty ?? true }
    }

    /// Every stored event with this messageId in the workspace (normally one).
    public func events(workspace: String, messageId: String) async throws -> [StoredEvent] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM event WHERE workspaceId = ? AND messageId = ? ORDER BY seq",
                arguments: [workspace, messageId]
            ).map(StoredEvent.init(row:))
        }
    }

    /// Number of events stored for a workspace (all workspaces when nil).
    public func eventCount(workspace: String? = nil) async throws -> Int {
        try await writer.read { db in
            if let workspace {
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE workspaceId = ?", arguments: [workspace]) ?? 0
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0
        }
    }

    /// Every stored messageId of a workspace with how many times it is stored.
    public func messageIdCounts(workspace: String) async throws -> [String: Int] {
        try await writer.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT messageId, COUNT(*) AS n FROM event WHERE workspaceId = ? GROUP BY messageId", arguments: [workspace]) {
                counts[row["messageId"]] = row["n"]
            }
            return counts
        }
    }
}
