import GRDB
public import SegmentSpec

/// A message as stored, with its status history.
public struct MessageRecord: Sendable, Hashable {
    /// Stable id: `run-<run>-step-<index>`.
    public let id: String
    /// The run that sent it.
    public let runId: Int64
    /// The recipient's profile id.
    public let recipient: String
    /// The channel name, when one was found.
    public let channel: String?
    /// The channel's type (`webhook`, `inbox`, `log`), when one was found.
    public let channelType: String?
    /// The template it was rendered from.
    public let template: String
    /// Rendered subject.
    public let subject: String?
    /// Rendered body.
    public let body: String?
    /// Current status.
    public let status: MessageStatus
    /// When it was created.
    public let createdAt: Timestamp
    /// When the recipient read it (inbox messages).
    public let readAt: Timestamp?
    /// Every status with its reason and time, oldest first.
    public let history: [MessageStatusEntry]
}

/// One status a message went through (`queued` again after a failed attempt, with why).
public struct MessageStatusEntry: Sendable, Hashable {
    /// The status.
    public let status: MessageStatus
    /// Why, in words.
    public let reason: String?
    /// When.
    public let at: Timestamp
}

/// Which messages to list. Pages run newest first: pass the last message's id as ``before``.
public struct MessageQuery: Sendable, Hashable {
    /// Current status.
    public var status: MessageStatus?
    /// Channel name.
    public var channel: String?
    /// Recipient profile id.
    public var recipient: String?
    /// Only messages older than the message with this id.
    public var before: String?
    /// At most this many.
    public var limit: Int

    /// A query; without arguments, the 50 most recent messages.
    public init(status: MessageStatus? = nil, channel: String? = nil, recipient: String? = nil, before: String? = nil, limit: Int = 50) {
        self.status = status
        self.channel = channel
        self.recipient = recipient
        self.before = before
        self.limit = limit
    }
}

extension HeraldStore {
    /// Messages of a workspace (optionally of one recipient), oldest first.
    public func messages(workspace: String, recipient: String? = nil) async throws -> [MessageRecord] {
        var sql = "SELECT rowid, * FROM message WHERE workspaceId = ?"
        var arguments: StatementArguments = [workspace]
        if let recipient {
            sql += " AND recipient = ?"
            arguments += [recipient]
        }
        return try await writer.read { [sql, arguments] db in try Self.messages(db, sql: sql + " ORDER BY rowid", arguments: arguments) }
    }

    /// The messages of a workspace matching `query`, newest first.
    public func messages(workspace: String, matching query: MessageQuery) async throws -> [MessageRecord] {
        var sql = "SELECT rowid, * FROM message WHERE workspaceId = ?"
        var arguments: StatementArguments = [workspace]
        for (column, value) in [("status", query.status?.rawValue), ("channel", query.channel), ("recipient", query.recipient)] {
            guard let value else { continue }
            sql += " AND \(column) = ?"
            arguments += [value]
        }
        if let before = query.before {
            sql += " AND rowid < (SELECT rowid FROM message WHERE workspaceId = ? AND id = ?)"
            arguments += [workspace, before]
        }
        arguments += [query.limit]
        return try await writer.read { [sql, arguments] db in try Self.messages(db, sql: sql + " ORDER BY rowid DESC LIMIT ?", arguments: arguments) }
    }

    /// One message of a workspace.
    public func message(workspace: String, id: String) async throws -> MessageRecord? {
        try await writer.read { db in
            try Self.messages(db, sql: "SELECT rowid, * FROM message WHERE workspaceId = ? AND id = ?", arguments: [workspace, id]).first
        }
    }

    /// The messages a run sent, oldest first.
    public func messages(workspace: String, runId: Int64) async throws -> [MessageRecord] {
        try await writer.read { db in
            try Self.messages(db, sql: "SELECT rowid, * FROM message WHERE workspaceId = ? AND runId = ? ORDER BY rowid", arguments: [workspace, runId])
        }
    }

    /// How many inbox messages of a user (by any id of their profile) are unread.
    public func unreadCount(workspace: String, user: String) async throws -> Int {
        try await writer.read { db in
            let profileId = try Self.resolveProfile(workspace: workspace, id: user, db)
            return try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM message WHERE workspaceId = ? AND recipient = ? AND channelType = 'inbox' AND readAt IS NULL",
                arguments: [workspace, profileId]) ?? 0
        }
    }

    /// The inbox of a user (by any id of their profile): inbox-channel messages, newest first.
    /// Pages run newest first: pass the last message's id as `before` for the next one.
    public func inbox(workspace: String, user: String, before: String? = nil, limit: Int = 50) async throws -> [MessageRecord] {
        try await writer.read { db in
            let profileId = try Self.resolveProfile(workspace: workspace, id: user, db)
            var sql = "SELECT rowid, * FROM message WHERE workspaceId = ? AND recipient = ? AND channelType = 'inbox'"
            var arguments: StatementArguments = [workspace, profileId]
            if let before {
                sql += " AND rowid < (SELECT rowid FROM message WHERE workspaceId = ? AND id = ?)"
                arguments += [workspace, before]
            }
            arguments += [limit]
            return try Self.messages(db, sql: sql + " ORDER BY rowid DESC LIMIT ?", arguments: arguments)
        }
    }

    /// Marks an inbox message read (once; the first time stays); nil when the user has no such message.
    public func markRead(workspace: String, user: String, messageId: String, now: Timestamp) async throws -> MessageRecord? {
        try await writer.write { db in
            let profileId = try Self.resolveProfile(workspace: workspace, id: user, db)
            try db.execute(
                sql: "UPDATE message SET readAt = COALESCE(readAt, ?) WHERE workspaceId = ? AND recipient = ? AND id = ? AND channelType = 'inbox'",
                arguments: [now.millisecondsSince1970, workspace, profileId, messageId])
            return try Self.messages(
                db, sql: "SELECT rowid, * FROM message WHERE workspaceId = ? AND recipient = ? AND id = ? AND channelType = 'inbox'",
                arguments: [workspace, profileId, messageId]).first
        }
    }

    static func messages(_ db: Database, sql: String, arguments: StatementArguments) throws -> [MessageRecord] {
        let history = try db.cachedStatement(sql: "SELECT status, reason, at FROM messageStatus WHERE messageId = ? ORDER BY id")
        return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row in
            let id: String = row["id"]
            let readAt: Int64? = row["readAt"]
            return MessageRecord(
                id: id, runId: row["runId"], recipient: row["recipient"], channel: row["channel"], channelType: row["channelType"],
                template: row["template"], subject: row["subject"], body: row["body"], status: MessageStatus(rawValue: row["status"]) ?? .queued,
                createdAt: Timestamp(millisecondsSince1970: row["createdAt"]), readAt: readAt.map(Timestamp.init(millisecondsSince1970:)),
                history: try Row.fetchAll(history, arguments: [id]).map {
                    MessageStatusEntry(status: MessageStatus(rawValue: $0["status"]) ?? .queued, reason: $0["reason"], at: Timestamp(millisecondsSince1970: $0["at"]))
                })
        }
    }
}
