import GRDB
import SegmentSpec

/// Digests in SQLite: table `digest` (one row per digest; `isOpen` is 1 while it takes items
/// and NULL after, under a partial unique index so a key has at most one open digest) and
/// `digestItem` (its items, in order).
struct DigestRecords: DigestTransaction {
    let db: Database

    func joinOpenDigest(_ key: DigestKey, item: JSONObject, at ms: Int64) throws -> DigestJoin? {
        // A digest whose window ended, or whose run is no longer pending, takes no more items:
        // close it so a new one can open under the unique index.
        try db.cachedStatement(
            sql: """
                UPDATE digest SET isOpen = NULL
                WHERE workspaceId = ? AND automation = ? AND step = ? AND recipient = ? AND digestKey = ? AND isOpen = 1
                  AND (closesAt <= ? OR NOT EXISTS (SELECT 1 FROM run WHERE run.id = digest.runId AND run.state = 'pending'))
                """
        ).execute(arguments: [key.workspace, key.automation, key.step, key.recipient, key.key, ms])
        guard let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT id, runId, itemCount, maxItems FROM digest
                    WHERE workspaceId = ? AND automation = ? AND step = ? AND recipient = ? AND digestKey = ? AND isOpen = 1
                    """),
            arguments: [key.workspace, key.automation, key.step, key.recipient, key.key])
        else { return nil }
        let id: Int64 = row["id"]
        let runId: Int64 = row["runId"]
        let count = (row["itemCount"] as Int) + 1
        let maxItems: Int = row["maxItems"]
        try addItem(digestId: id, position: count, item: item)
        let filled = count >= maxItems
        try db.cachedStatement(sql: "UPDATE digest SET itemCount = ?, isOpen = CASE WHEN ? THEN NULL ELSE 1 END WHERE id = ?")
            .execute(arguments: [count, filled, id])
        if filled {
            try db.cachedStatement(sql: "UPDATE run SET dueAt = MIN(dueAt, ?), updatedAt = ? WHERE id = ? AND state = 'pending'").execute(arguments: [ms, ms, runId])
        }
        return DigestJoin(runId: runId, items: count, filled: filled)
    }

    func openDigest(_ key: DigestKey, runId: Int64, closesAt: Int64, maxItems: Int, item: JSONObject, at ms: Int64) throws {
        let filled = maxItems <= 1
        try db.cachedStatement(
            sql: """
                INSERT INTO digest (workspaceId, automation, step, recipient, digestKey, runId, openedAt, closesAt, maxItems, itemCount, isOpen)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
                """
        ).execute(arguments: [key.workspace, key.automation, key.step, key.recipient, key.key, runId, ms, closesAt, maxItems, filled ? nil : 1])
        try addItem(digestId: db.lastInsertedRowID, position: 1, item: item)
    }

    private func addItem(digestId: Int64, position: Int, item: JSONObject) throws {
        try db.cachedStatement(sql: "INSERT INTO digestItem (digestId, position, item) VALUES (?, ?, ?)")
            .execute(arguments: [digestId, position, JSONValue.object(item).encodedString()])
    }

    func digest(collectedBy runId: Int64, step: Int) throws -> OwnedDigest? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, digestKey, closesAt, isOpen, itemCount FROM digest WHERE runId = ? AND step = ?"), arguments: [runId, step])
        else { return nil }
        let items = try String.fetchAll(
            db.cachedStatement(sql: "SELECT item FROM digestItem WHERE digestId = ? ORDER BY position"), arguments: [row["id"] as Int64]
        ).compactMap { try? JSONParser.parse($0).objectValue }
        return OwnedDigest(key: row["digestKey"], closesAt: row["closesAt"], isOpen: (row["isOpen"] as Int?) == 1, count: row["itemCount"], items: items)
    }

    func closeDigest(collectedBy runId: Int64, step: Int, at ms: Int64) throws {
        try db.cachedStatement(sql: "UPDATE digest SET isOpen = NULL WHERE runId = ? AND step = ? AND isOpen = 1").execute(arguments: [runId, step])
    }
}
