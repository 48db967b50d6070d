import Foundation
import GRDB
public import SegmentSpec

extension HeraldStore {
    /// Appends each submission's events in one write transaction (a group commit), checking
    /// once per key that the key submitting them was not revoked meanwhile; a revoked key's
    /// submission is refused, the others are appended.
    func appendSubmissions(
        _ submissions: [(keyHash: Data?, events: [IngestEvent])], dedupWindow: Int64
    ) async throws -> [Result<[AppendOutcome], IngestError>] {
        try await writer.write { db in
            var keyValid: [Data: Bool] = [:]
            return try submissions.map { submission -> Result<[AppendOutcome], IngestError> in
                // No key: a workspace signature authenticated the request just before.
                let valid = try submission.keyHash.map { keyHash in
                    try keyValid[keyHash] ?? {
                        let found = try Self.identity(hash: keyHash, secret: nil, db) != nil
                        keyValid[keyHash] = found
                        return found
                    }()
                } ?? true
                guard valid else { return .failure(.keyRevoked) }
                return .success(try Self.appendEvents(submission.events, dedupWindow: dedupWindow, db))
            }
        }
    }

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
        let budget = query.maximumBytes
        return try await writer.read { [sql, arguments] db in
            guard let budget else { return try Row.fetchAll(db, sql: sql, arguments: arguments).map(StoredEvent.init(row:)) }
            var events: [StoredEvent] = []
            var bytes = 0
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            while bytes < budget, let row = try rows.next() {
                let event = StoredEvent(row: row)
                bytes += event.byteCount
                events.append(event)
            }
            return events
        }
    }

    /// One event of a workspace by its seq.
    public func event(workspace: String, seq: Int64) async throws -> StoredEvent? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM event WHERE workspaceId = ? AND seq = ?", arguments: [workspace, seq]).map(StoredEvent.init(row:))
        }
    }

    /// The events of the profile `profileId` under any of its ids (the profile's own and every
    /// alias, however many), newest first.
    public func events(workspace: String, profile profileId: String, before: Int64? = nil, limit: Int = 50) async throws -> [StoredEvent] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: """
                WITH ids(id) AS (SELECT ? UNION SELECT alias FROM profileAlias WHERE workspaceId = ? AND profileId = ?)
                SELECT * FROM event WHERE workspaceId = ? AND (userId IN ids OR anonymousId IN ids) AND seq < ?
                ORDER BY seq DESC LIMIT ?
                """, arguments: [profileId, workspace, profileId, workspace, before ?? Int64.max, limit]).map(StoredEvent.init(row:))
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

    /// A page of the event names received that no mapping of the configuration in force
    /// handles (all names when none is applied): most recently seen first, `limit` of them
    /// after `position` (the last entry of the previous page).
    ///
    /// Reads rows in that order and stops once it has `limit`: the names it skips are only the
    /// mapped ones (and `delete`), so one page costs `limit` plus the configuration's mappings
    /// rows at most, however many names an ingest key sent.
    public func unmappedEventNames(workspace: String, after position: EventNamePosition? = nil, limit: Int) async throws -> [EventNameCount] {
        let configuration = try await currentConfiguration(workspace: workspace)
            .flatMap { try? ConfigurationLoader.load(yaml: $0.yaml, secrets: .none, requireSecrets: false) }
        return try await writer.read { db in
            var sql = "SELECT name, count, lastSeenAt FROM eventName WHERE workspaceId = ?"
            var arguments: StatementArguments = [workspace]
            if let position {
                sql += " AND (lastSeenAt, name) < (?, ?)"
                arguments += [position.lastSeenAt.millisecondsSince1970, position.name]
            }
            // Both descending, so the (workspaceId, lastSeenAt, name) index serves order and position.
            sql += " ORDER BY lastSeenAt DESC, name DESC"
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            var page: [EventNameCount] = []
            while page.count < limit, let row = try rows.next() {
                let name: String = row["name"]
                guard name != "delete", configuration?.mappings(for: name).isEmpty ?? true else { continue }
                page.append(EventNameCount(name: name, count: row["count"], lastSeenAt: Timestamp(millisecondsSince1970: row["lastSeenAt"])))
            }
            return page
        }
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

/// How often an event name arrived, and when last.
public struct EventNameCount: Sendable, Hashable {
    /// The Courier-style name (`track/Order Completed`).
    public let name: String
    /// Events of that name the engine has consumed.
    public let count: Int
    /// When the last one was received.
    public let lastSeenAt: Timestamp

    /// Where this entry lies in a list of names, to continue after it.
    public var position: EventNamePosition { EventNamePosition(lastSeenAt: lastSeenAt, name: name) }
}

/// A place in the list of event names (most recently seen first), written as an opaque,
/// URL-safe cursor: `<lastSeenAt ms>.<name in base64url>`.
public struct EventNamePosition: Sendable, Hashable {
    /// When the name was last seen.
    public let lastSeenAt: Timestamp
    /// The name.
    public let name: String

    /// A position.
    public init(lastSeenAt: Timestamp, name: String) {
        self.lastSeenAt = lastSeenAt
        self.name = name
    }

    /// Reads a cursor made by ``cursor``; nil when it is not one.
    public init?(cursor: String) {
        let parts = cursor.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let milliseconds = Int64(parts[0]), milliseconds >= 0 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let name = String(data: data, encoding: .utf8) else { return nil }
        self.init(lastSeenAt: Timestamp(millisecondsSince1970: milliseconds), name: name)
    }

    /// The cursor text.
    public var cursor: String {
        let base64 = Data(name.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return "\(lastSeenAt.millisecondsSince1970).\(base64)"
    }
}
