import GRDB
public import SegmentSpec

extension HeraldStore {
    /// Executes a `delete` (GDPR/CCPA) event inside the append transaction: erases the
    /// user's events in the workspace, then logs a `delete` entry that keeps no personal
    /// data (no ids, a raw body of only `type` and `messageId`) and an erasure record.
    static func erase(for event: IngestEvent, _ db: Database) throws -> Int64 {
        var erased = 0
        for id in Set([event.userId, event.anonymousId].compactMap { $0 }) {
            try db.execute(
                sql: "DELETE FROM event WHERE workspaceId = ? AND (userId = ? OR anonymousId = ?)",
                arguments: [event.workspaceId, id, id])
            erased += db.changesCount
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
