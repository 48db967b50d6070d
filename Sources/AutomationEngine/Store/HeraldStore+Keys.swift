public import Foundation
import GRDB
public import SegmentSpec

extension HeraldStore {
    /// The result of creating a key: the plaintext (show it once) and its record.
    public struct CreatedKey: Sendable {
        /// The full key; it cannot be recovered later.
        public let secret: APIKeySecret
        /// What was stored.
        public let record: APIKeyRecord
    }

    /// Most active (unrevoked) keys a workspace may have. Each key is a credential to audit and
    /// a row every list shows; 100 is far more than the one or two per source and person
    /// a workspace needs, and stops a leaked admin key from minting keys by the thousand.
    public static let maximumActiveKeysPerWorkspace = 100

    /// Creates the workspace if it does not exist, then a new key of `scope` in it.
    /// - Throws: ``KeyStoreError/tooManyKeys(workspace:limit:)`` when the workspace has
    ///   ``maximumActiveKeysPerWorkspace`` active keys already.
    public func createKey(workspace: String, scope: KeyScope, now: Timestamp = Timestamp(Date())) async throws -> CreatedKey {
        try Self.checkWorkspaceName(workspace)
        let limit = Self.maximumActiveKeysPerWorkspace
        return try await writer.write { db in
            // Counted in the writing transaction: concurrent creations cannot overshoot together.
            let active = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM apiKey WHERE workspaceId = ? AND revokedAt IS NULL", arguments: [workspace]) ?? 0
            guard active < limit else { throw KeyStoreError.tooManyKeys(workspace: workspace, limit: limit) }
            try Self.ensureWorkspace(workspace, now: now, db)
            return try Self.insertKey(workspace: workspace, scope: scope, now: now, db)
        }
    }

    /// On a database where no key was ever created, creates workspace `default` (when new)
    /// with one `ingest` and one `admin` key and returns them; returns an empty list when any
    /// key exists, revoked or not. A database that `herald apply` made before the first
    /// `serve` has a workspace but no key: it still gets its first keys.
    public func bootstrapIfEmpty(now: Timestamp = Timestamp(Date())) async throws -> [CreatedKey] {
        try await writer.write { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM apiKey") == 0 else { return [] }
            try Self.ensureWorkspace("default", now: now, db)
            return [
                try Self.insertKey(workspace: "default", scope: .ingest, now: now, db),
                try Self.insertKey(workspace: "default", scope: .admin, now: now, db),
            ]
        }
    }

    /// Every key (optionally of one workspace), oldest first, without secrets.
    public func listKeys(workspace: String? = nil) async throws -> [APIKeyRecord] {
        try await writer.read { db in
            var sql = "SELECT id, workspaceId, scope, createdAt, revokedAt FROM apiKey"
            var arguments: StatementArguments = []
            if let workspace {
                sql += " WHERE workspaceId = ?"
                arguments = [workspace]
            }
            sql += " ORDER BY createdAt, id"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.keyRecord)
        }
    }

    /// A page of a workspace's keys, oldest first: `limit` keys after the key with id `after`
    /// (active keys are capped, revoked ones are kept and can be many).
    public func keys(workspace: String, after: String?, limit: Int) async throws -> [APIKeyRecord] {
        try await writer.read { db in
            var sql = "SELECT id, workspaceId, scope, createdAt, revokedAt FROM apiKey WHERE workspaceId = ?"
            var arguments: StatementArguments = [workspace]
            if let after {
                guard let anchor = try Int64.fetchOne(db, sql: "SELECT createdAt FROM apiKey WHERE workspaceId = ? AND id = ?", arguments: [workspace, after]) else {
                    throw KeyStoreError.unknownKey(after)
                }
                sql += " AND (createdAt > ? OR (createdAt = ? AND id > ?))"
                arguments += [anchor, anchor, after]
            }
            sql += " ORDER BY createdAt, id LIMIT ?"
            arguments += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.keyRecord)
        }
    }

    /// The key with this id in `workspace`, or nil (another workspace's key is nil too).
    public func key(workspace: String, id: String) async throws -> APIKeyRecord? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, workspaceId, scope, createdAt, revokedAt FROM apiKey WHERE workspaceId = ? AND id = ?", arguments: [workspace, id]
            ).map(Self.keyRecord)
        }
    }

    /// Revokes the key with this id; later requests with it get 401.
    @discardableResult
    public func revokeKey(id: String, now: Timestamp = Timestamp(Date())) async throws -> APIKeyRecord {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE apiKey SET revokedAt = COALESCE(revokedAt, ?) WHERE id = ?",
                arguments: [now.millisecondsSince1970, id])
            guard let row = try Row.fetchOne(db, sql: "SELECT id, workspaceId, scope, createdAt, revokedAt FROM apiKey WHERE id = ?", arguments: [id])
            else { throw KeyStoreError.unknownKey(id) }
            return Self.keyRecord(row)
        }
    }

    /// The identity of a valid (known, unrevoked) key, or nil.
    public func identity(for secret: APIKeySecret) async throws -> KeyIdentity? {
        let hash = secret.hash
        return try await writer.read { db in try Self.identity(hash: hash, secret: secret, db) }
    }

    /// Whether the key with this hash is known and not revoked (for a key remembered in memory).
    public func keyIsValid(hash: Data) async throws -> Bool {
        try await writer.read { db in try Self.identity(hash: hash, secret: nil, db) != nil }
    }

    /// Looks a key up by hash inside an open database access; nil when unknown or revoked.
    static func identity(hash: Data, secret: APIKeySecret?, _ db: Database) throws -> KeyIdentity? {
        let statement = try db.cachedStatement(sql: "SELECT id, workspaceId, scope, hash, revokedAt FROM apiKey WHERE hash = ?")
        guard let row = try Row.fetchOne(statement, arguments: [hash]) else { return nil }
        guard row["revokedAt"] as Int64? == nil else { return nil }
        if let secret, !secret.matches(storedHash: row["hash"]) { return nil }
        guard let scope = KeyScope(rawValue: row["scope"]) else { return nil }
        return KeyIdentity(keyId: row["id"], workspaceId: row["workspaceId"], scope: scope)
    }

    static func checkWorkspaceName(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 95
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed else { throw KeyStoreError.invalidWorkspaceName(name) }
    }

    private static func ensureWorkspace(_ id: String, now: Timestamp, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO workspace (id, createdAt) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
            arguments: [id, now.millisecondsSince1970])
    }

    private static func insertKey(workspace: String, scope: KeyScope, now: Timestamp, _ db: Database) throws -> CreatedKey {
        let secret = APIKeySecret.generate()
        try db.execute(
            sql: "INSERT INTO apiKey (id, workspaceId, scope, hash, createdAt) VALUES (?, ?, ?, ?, ?)",
            arguments: [secret.visiblePrefix, workspace, scope.rawValue, secret.hash, now.millisecondsSince1970])
        let record = APIKeyRecord(id: secret.visiblePrefix, workspaceId: workspace, scope: scope, createdAt: now, revokedAt: nil)
        return CreatedKey(secret: secret, record: record)
    }

    private static func keyRecord(_ row: Row) -> APIKeyRecord {
        APIKeyRecord(
            id: row["id"],
            workspaceId: row["workspaceId"],
            scope: KeyScope(rawValue: row["scope"]) ?? .ingest,
            createdAt: Timestamp(millisecondsSince1970: row["createdAt"]),
            revokedAt: (row["revokedAt"] as Int64?).map(Timestamp.init(millisecondsSince1970:)))
    }
}
