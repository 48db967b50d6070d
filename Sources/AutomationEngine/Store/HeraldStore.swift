package import GRDB
import Foundation

/// Herald's database: one SQLite file (WAL, `synchronous=FULL`) holding workspaces, API keys,
/// the event log with its deduplication index, and erasure records.
///
/// Every read and write goes through an intent-named method of this type (see the
/// `HeraldStore+*.swift` extensions); nothing else writes SQL.
public struct HeraldStore: Sendable {
    /// The connection pool (a `DatabasePool` on disk, a `DatabaseQueue` in memory). Package
    /// access: tests and benchmarks of this package may reach the database; GRDB is not part
    /// of Herald's public API.
    package let writer: any DatabaseWriter
    /// The database file, or nil for an in-memory store.
    public let path: String?
    /// Applied configurations, parsed once per version.
    let configurations: ConfigurationCache

    /// Opens (creating when needed) the database at `path` and migrates it.
    ///
    /// WAL journal with `synchronous=FULL`: a committed transaction is on disk before the
    /// commit returns, so an acknowledged event survives a crash or power loss.
    public static func open(path: String) throws -> HeraldStore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)  // `herald keys` may write while the server runs
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // 32 MB of page cache: the event log's indexes stay in memory under load.
            try db.execute(sql: "PRAGMA cache_size = -32768")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pool = try DatabasePool(path: path, configuration: configuration)
        // Set again on the writer: the pool switches it to NORMAL when it turns WAL on, after
        // `prepareDatabase`, and NORMAL does not sync a commit to disk.
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let store = HeraldStore(writer: pool, path: path)
        try store.migrate()
        return store
    }

    /// A private in-memory store, for tests and dry runs.
    public static func inMemory() throws -> HeraldStore {
        let store = HeraldStore(writer: try DatabaseQueue(), path: nil)
        try store.migrate()
        return store
    }

    init(writer: any DatabaseWriter, path: String?, configurations: ConfigurationCache = ConfigurationCache()) {
        self.writer = writer
        self.path = path
        self.configurations = configurations
    }

    /// The same database with a configuration cache of its own: a dry run stores its draft
    /// as the next version inside a transaction it rolls back, and the real next version
    /// must never be read from a cache that saw the draft.
    func withPrivateConfigurationCache() -> HeraldStore {
        HeraldStore(writer: writer, path: path, configurations: ConfigurationCache(secrets: .none, logger: nil))
    }

    /// True when the database answers a trivial query (for `/health`).
    public func isHealthy() async -> Bool {
        do {
            return try await writer.read { db in try Int.fetchOne(db, sql: "SELECT 1") == 1 }
        } catch {
            return false
        }
    }
}
