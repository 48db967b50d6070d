import GRDB
import Logging
import Synchronization

/// Applied configurations, parsed once per version per process.
///
/// A version never changes once applied, so a parsed version stays valid for the life of
/// the process; the cache only bounds how many it holds. Secrets are resolved from the
/// process's allowed environment (``SecretEnvironment/process(_:)``), in memory only.
final class ConfigurationCache: Sendable {
    private struct Key: Hashable {
        let workspace: String
        let version: Int
    }

    /// Versions held at most; a server rarely needs more than each workspace's latest few.
    static let capacity = 256

    private let parsed = Mutex<[Key: HeraldConfiguration]>([:])
    private let secrets: SecretEnvironment
    /// Where a version naming secrets this process lacks is reported; nil for caches that
    /// resolve no secrets on purpose (dry runs).
    private let logger: Logger?

    init(secrets: SecretEnvironment = .process(), logger: Logger? = Logger(label: "herald.configuration")) {
        self.secrets = secrets
        self.logger = logger
    }

    /// The configuration of `version`, parsed from `yaml` when it is not cached yet.
    /// - Throws: ``ConfigurationError`` when the stored YAML no longer parses (an older
    ///   Herald accepted it): the caller reports it, it is never silently ignored.
    func configuration(workspace: String, version: Int, yaml: () throws -> String?) throws -> HeraldConfiguration? {
        let key = Key(workspace: workspace, version: version)
        if let known = parsed.withLock({ $0[key] }) { return known }
        guard let text = try yaml() else { return nil }
        let configuration = try ConfigurationLoader.load(yaml: text, secrets: secrets.scoped(to: workspace), requireSecrets: false)
        if let logger, !configuration.unresolvedSecrets.isEmpty {
            // Said once per version and process: what it sends through those channels will be undeliverable.
            let names = configuration.unresolvedSecrets.map { "${\($0.message)} (line \($0.line))" }.joined(separator: ", ")
            logger.warning(
                "configuration names secrets that are not set in the server's environment (or not allowed for the workspace); messages that need them will be undeliverable",
                metadata: ["workspace": "\(workspace)", "version": "\(version)", "secrets": "\(names)"])
        }
        parsed.withLock { cache in
            if cache.count >= Self.capacity { cache.removeAll() }
            cache[key] = configuration
        }
        return configuration
    }
}

extension HeraldStore {
    /// Configuration `version` of `workspace`, parsed once per process; nil when no such
    /// version was applied.
    /// - Throws: ``ConfigurationError`` when the stored YAML does not parse any more.
    public func configuration(workspace: String, version: Int) async throws -> HeraldConfiguration? {
        if let cached = try configurations.configuration(workspace: workspace, version: version, yaml: { nil }) { return cached }
        return try await writer.read { db in try self.configuration(workspace: workspace, version: version, db) }
    }

    /// The same inside a transaction the caller holds.
    func configuration(workspace: String, version: Int, _ db: Database) throws -> HeraldConfiguration? {
        try configurations.configuration(workspace: workspace, version: version) {
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT yaml FROM configVersion WHERE workspaceId = ? AND version = ?"), arguments: [workspace, version])
        }
    }
}
