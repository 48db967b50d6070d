import GRDB

extension HeraldStore {
    /// Sets a workspace's signing secret (nil removes it, and with it the requirement).
    /// - Throws: ``KeyStoreError/unknownWorkspace(_:)`` when no such workspace exists.
    public func setSigningSecret(workspace: String, _ signing: WorkspaceSigningSecret?) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE workspace SET signingSecret = ?, signatureRequired = ? WHERE id = ?",
                arguments: [signing?.secret, signing?.required ?? false, workspace])
            if db.changesCount == 0 { throw KeyStoreError.unknownWorkspace(workspace) }
        }
    }

    /// A workspace's signing secret, nil when it has none (or does not exist).
    public func signingSecret(workspace: String) async throws -> WorkspaceSigningSecret? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT signingSecret, signatureRequired FROM workspace WHERE id = ?", arguments: [workspace]),
                let secret = row["signingSecret"] as String?
            else { return nil }
            return WorkspaceSigningSecret(secret: secret, required: row["signatureRequired"] as Bool)
        }
    }
}
