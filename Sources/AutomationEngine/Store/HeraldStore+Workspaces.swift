import GRDB

extension HeraldStore {
    /// Sets (or with nil, removes) a workspace's ingest rate limit in events per second.
    /// - Throws: ``KeyStoreError/invalidWorkspaceName(_:)`` when no such workspace exists.
    public func setRateLimit(workspace: String, eventsPerSecond: Int?) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE workspace SET eventsPerSecondLimit = ? WHERE id = ?", arguments: [eventsPerSecond, workspace])
            if db.changesCount == 0 { throw KeyStoreError.unknownWorkspace(workspace) }
        }
    }

    /// The rate limits in force, by workspace; workspaces without one are absent.
    public func rateLimits() async throws -> [String: Int] {
        try await writer.read { db in
            var limits: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, eventsPerSecondLimit FROM workspace WHERE eventsPerSecondLimit IS NOT NULL") {
                limits[row["id"]] = row["eventsPerSecondLimit"]
            }
            return limits
        }
    }

    /// Every workspace id, sorted.
    public func workspaceIds() async throws -> [String] {
        try await writer.read { db in try String.fetchAll(db, sql: "SELECT id FROM workspace ORDER BY id") }
    }
}
