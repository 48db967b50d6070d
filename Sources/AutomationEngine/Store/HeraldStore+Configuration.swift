public import Foundation
import GRDB
public import SegmentSpec

/// One applied version of a workspace's configuration.
public struct ConfigurationVersion: Sendable, Hashable {
    /// The workspace it belongs to.
    public let workspaceId: String
    /// 1 for the first applied configuration, then increasing.
    public let version: Int
    /// The YAML as applied (with `${ENV}` references unresolved, so secrets stay out of the database).
    public let yaml: String
    /// When it was applied.
    public let appliedAt: Timestamp
}

/// What applying a configuration did.
public enum ConfigurationApplication: Sendable, Hashable {
    /// The text was stored as this new version.
    case applied(ConfigurationVersion)
    /// The text is the version in force, character for character: nothing was stored.
    case unchanged(ConfigurationVersion)

    /// The version in force afterwards.
    public var version: ConfigurationVersion {
        switch self {
        case .applied(let version), .unchanged(let version): return version
        }
    }

    /// True when nothing was stored.
    public var isUnchanged: Bool {
        if case .unchanged = self { return true }
        return false
    }
}

extension HeraldStore {
    /// Validates `yaml` and, when valid, stores it as the workspace's next version in one
    /// transaction, unless it is the version in force already (see ``applyConfigurationIfChanged(yaml:workspace:secrets:now:)``).
    /// Earlier versions stay readable. The workspace is created when new.
    /// - Returns: the version in force afterwards.
    /// - Throws: ``ConfigurationError`` listing every problem; nothing is stored then.
    @discardableResult
    public func applyConfiguration(
        yaml: String, workspace: String, secrets: SecretEnvironment = .process(),
        now: Timestamp = Timestamp(Date())
    ) async throws -> ConfigurationVersion {
        try await applyConfigurationIfChanged(yaml: yaml, workspace: workspace, secrets: secrets, now: now).version
    }

    /// Validates `yaml` and stores it as the workspace's next version, unless its text is the
    /// version in force: then nothing is stored (restarting with `--config`, or applying the
    /// same file twice, does not make a new version). The text is compared as applied, so a
    /// change of comments or spacing is a new version; so is going back to an earlier one.
    /// - Throws: ``ConfigurationError`` listing every problem; nothing is stored then.
    public func applyConfigurationIfChanged(
        yaml: String, workspace: String, secrets: SecretEnvironment = .process(),
        now: Timestamp = Timestamp(Date())
    ) async throws -> ConfigurationApplication {
        try await applyConfigurationIfChanged(yaml: yaml, workspace: workspace, secrets: secrets, requireSecrets: true, now: now)
    }

    /// The same, for a process that is not the server (`herald apply` on the database file):
    /// with `requireSecrets` false a `${NAME}` this process cannot resolve is no error, since
    /// only the server's environment decides (it names what is missing when it starts and
    /// when it loads the version); everything else is validated as usual.
    public func applyConfigurationIfChanged(
        yaml: String, workspace: String, secrets: SecretEnvironment, requireSecrets: Bool, now: Timestamp = Timestamp(Date())
    ) async throws -> ConfigurationApplication {
        try Self.checkWorkspaceName(workspace)
        // An empty document would silently stop every automation: almost always a mistake.
        let meaningful = yaml.split(separator: "\n").contains { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            return !text.isEmpty && !text.hasPrefix("#") && text != "---"
        }
        guard meaningful else {
            throw ConfigurationError(issues: [ConfigurationIssue(
                line: 1, column: 1, message: "the configuration is empty; send the whole herald.yaml (channels, templates, automations, mappings)")])
        }
        // Validated even when unchanged: the environment may have lost a secret it names.
        _ = try ConfigurationLoader.load(yaml: yaml, secrets: secrets.scoped(to: workspace), requireSecrets: requireSecrets)
        return try await writer.write { db in
            if let current = try Row.fetchOne(
                db, sql: "SELECT * FROM configVersion WHERE workspaceId = ? ORDER BY version DESC LIMIT 1", arguments: [workspace]
            ).map(Self.version), current.yaml == yaml {
                return .unchanged(current)
            }
            try db.execute(
                sql: "INSERT INTO workspace (id, createdAt) VALUES (?, ?) ON CONFLICT(id) DO NOTHING",
                arguments: [workspace, now.millisecondsSince1970])
            let next = (try Int.fetchOne(db, sql: "SELECT MAX(version) FROM configVersion WHERE workspaceId = ?", arguments: [workspace]) ?? 0) + 1
            try db.execute(
                sql: "INSERT INTO configVersion (workspaceId, version, yaml, appliedAt) VALUES (?, ?, ?, ?)",
                arguments: [workspace, next, yaml, now.millisecondsSince1970])
            return .applied(ConfigurationVersion(workspaceId: workspace, version: next, yaml: yaml, appliedAt: now))
        }
    }

    /// The workspace's configuration versions, newest first: all of them, or `limit` of those
    /// before version `before`.
    public func configurationVersions(workspace: String, before: Int? = nil, limit: Int? = nil) async throws -> [ConfigurationVersion] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM configVersion WHERE workspaceId = ? AND version < ? ORDER BY version DESC LIMIT ?",
                arguments: [workspace, before ?? Int.max, limit ?? -1]
            ).map(Self.version)
        }
    }

    /// One configuration version of the workspace, or nil.
    public func configurationVersion(workspace: String, number: Int) async throws -> ConfigurationVersion? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM configVersion WHERE workspaceId = ? AND version = ?", arguments: [workspace, number]).map(Self.version)
        }
    }

    /// The version in force (the latest), or nil when none was applied.
    public func currentConfiguration(workspace: String) async throws -> ConfigurationVersion? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM configVersion WHERE workspaceId = ? ORDER BY version DESC LIMIT 1", arguments: [workspace]).map(Self.version)
        }
    }

    private static func version(_ row: Row) -> ConfigurationVersion {
        ConfigurationVersion(
            workspaceId: row["workspaceId"], version: row["version"], yaml: row["yaml"],
            appliedAt: Timestamp(millisecondsSince1970: row["appliedAt"]))
    }
}
