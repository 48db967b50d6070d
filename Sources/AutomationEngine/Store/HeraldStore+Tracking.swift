public import Foundation
import GRDB
import SegmentSpec

extension HeraldStore {
    /// The database's key for tracking tokens (made by the migration that added tracking).
    func trackingKey(_ db: Database) throws -> Data {
        guard let key = try Data.fetchOne(db.cachedStatement(sql: "SELECT key FROM trackingKey WHERE id = 1")) else {
            throw DatabaseError(message: "the tracking key is missing")
        }
        return key
    }

    /// The database's key for tracking tokens.
    public func trackingKey() async throws -> Data {
        try await writer.read { db in try self.trackingKey(db) }
    }

    /// Link `index` of tracked message `id`, with the message's workspace; nil when the message
    /// has no such tracked link.
    public func trackedLink(messageId id: String, index: Int) async throws -> (workspace: String, url: String)? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT workspaceId, links FROM message WHERE id = ?", arguments: [id]),
                  let text: String = row["links"], let links = try? JSONParser.parse(text).arrayValue, index < links.count,
                  let url = links[index].stringValue
            else { return nil }
            return (row["workspaceId"], url)
        }
    }

    /// The workspace of message `id` when it is tracked (it has recorded links, maybe none).
    public func trackedMessageWorkspace(id: String) async throws -> String? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT workspaceId FROM message WHERE id = ? AND links IS NOT NULL", arguments: [id])
        }
    }
}
