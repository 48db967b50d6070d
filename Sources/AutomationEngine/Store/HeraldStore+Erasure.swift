import GRDB
public import SegmentSpec

extension HeraldStore {
    /// Executes a `delete` (GDPR/CCPA) event inside the append transaction: erases the
    /// user's events, profile, aliases, memberships, preferences, runs with their step history,
    /// messages with their status history, and Segment calls about them not sent yet, in the workspace, then logs a `delete` entry that keeps no personal
    /// data (no ids, a raw body of only `type` and `messageId`) and an erasure record.
    static func erase(for event: IngestEvent, _ db: Database) throws -> Int64 {
        var erased = 0
        let workspace = event.workspaceId
        var ids = Set([event.userId, event.anonymousId].compactMap { $0 })
        // Every id the user is known by: aliases pointing at their profile, and the profile itself.
        for id in ids {
            let profileId = try resolveProfile(workspace: workspace, id: id, db)
            ids.insert(profileId)
            ids.formUnion(try String.fetchAll(db, sql: "SELECT alias FROM profileAlias WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId]))
        }
        for id in ids {
            try db.execute(
                sql: "DELETE FROM eventTrace WHERE seq IN (SELECT seq FROM event WHERE workspaceId = ? AND (userId = ? OR anonymousId = ?))",
                arguments: [workspace, id, id])
            try db.execute(sql: "DELETE FROM event WHERE workspaceId = ? AND userId = ?", arguments: [workspace, id])
            erased += db.changesCount
            try db.execute(sql: "DELETE FROM event WHERE workspaceId = ? AND anonymousId = ?", arguments: [workspace, id])
            erased += db.changesCount
            try db.execute(sql: "DELETE FROM profile WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM profileAlias WHERE workspaceId = ? AND (alias = ? OR profileId = ?)", arguments: [workspace, id, id])
            try db.execute(sql: "DELETE FROM membership WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, id])
            // Messages to the user, and those the user's runs sent to others (`to:`): they carry the user's data.
            let messages = """
                SELECT id FROM message WHERE workspaceId = ? AND (recipient = ? OR runId IN (SELECT id FROM run WHERE workspaceId = ? AND recipient = ?))
                """
            try db.execute(sql: "DELETE FROM messageStatus WHERE messageId IN (\(messages))", arguments: [workspace, id, workspace, id])
            try db.execute(sql: "DELETE FROM message WHERE id IN (\(messages))", arguments: [workspace, id, workspace, id])
            try db.execute(sql: "DELETE FROM runStep WHERE runId IN (SELECT id FROM run WHERE workspaceId = ? AND recipient = ?)", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM run WHERE workspaceId = ? AND recipient = ?", arguments: [workspace, id])
            // Digests (their items carry the user's events), waits and counted sends.
            try db.execute(
                sql: "DELETE FROM digestItem WHERE digestId IN (SELECT id FROM digest WHERE workspaceId = ? AND recipient = ?)", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM digest WHERE workspaceId = ? AND recipient = ?", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM runWait WHERE workspaceId = ? AND recipient = ?", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM sendLedger WHERE workspaceId = ? AND recipient = ?", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM oncePerLedger WHERE workspaceId = ? AND subject = ?", arguments: [workspace, id])
            try SegmentOutbox.erase(workspace: workspace, subject: id, db)
            try db.execute(sql: "DELETE FROM preference WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, id])
            try db.execute(sql: "DELETE FROM preferenceChange WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, id])
        }
        try db.execute(
            sql: "INSERT INTO erasure (workspaceId, messageId, erasedAt, eventsErased) VALUES (?, ?, ?, ?)",
            arguments: [event.workspaceId, event.messageId, event.receivedAt.millisecondsSince1970, erased])
        let sanitized = JSONValue.object(JSONObject([(key: "type", value: "delete"), (key: "messageId", value: .string(event.messageId))]))
        try db.execute(
            sql: """
                INSERT INTO event (workspaceId, messageId, type, name, userId, anonymousId, receivedAt, timestamp, settings, warnings, raw)
                VALUES (?, ?, 'delete', 'delete', NULL, NULL, ?, ?, NULL, NULL, ?)
                """,
            arguments: [event.workspaceId, event.messageId, event.receivedAt.millisecondsSince1970,
                        event.receivedAt.millisecondsSince1970, sanitized.encodedString()])
        return db.lastInsertedRowID
    }

    /// Erasure records of a workspace, oldest first: `(messageId, erasedAt, eventsErased)`.
    public func erasures(workspace: String) async throws -> [(messageId: String, erasedAt: Timestamp, eventsErased: Int)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM erasure WHERE workspaceId = ? ORDER BY id", arguments: [workspace]).map { row in
                (messageId: row["messageId"], erasedAt: Timestamp(millisecondsSince1970: row["erasedAt"]), eventsErased: row["eventsErased"])
            }
        }
    }
}
