public import Logging
import GRDB
public import ServiceLifecycle

/// Copies the write-ahead log back into the database file in the background, from a
/// connection of its own, so that a commit does not.
///
/// Left to itself, SQLite checkpoints inside the commit that takes the log past 1,000 pages:
/// that one commit copies megabytes into the database file and syncs it, and every request
/// waiting for it is answered late (BENCHMARKS.md, fifth session, has what this changes). A
/// passive checkpoint runs beside the single writer and the readers without waiting for
/// either. While it runs, the writer's own automatic checkpoint is kept only as a backstop
/// at a larger size, in case this one falls behind or fails.
public struct WALCheckpointer: Service {
    /// Log size, in pages, at which the writer checkpoints by itself while this one runs.
    public static let backstopPages = 10_000

    private let store: HeraldStore
    private let interval: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - store: an on-disk store (an in-memory store has no log: `run` only waits for shutdown).
    ///   - interval: time between checkpoints; one with nothing to copy costs little.
    public init(store: HeraldStore, interval: Duration = .milliseconds(100), logger: Logger = Logger(label: "herald.checkpoints")) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Checkpoints every `interval` until graceful shutdown or cancellation, then gives the
    /// writer its own threshold back.
    ///
    /// It never ends the server by finishing early (a service group stops every service when
    /// one returns or throws): without a log, or when its connection cannot be set up, it
    /// leaves checkpoints to the writer and waits for shutdown.
    public func run() async throws {
        let connection: DatabaseQueue
        let writerThreshold: Int
        do {
            guard let path = store.path else { return await Self.waitForShutdown() }
            connection = try await Self.openConnection(path)
            writerThreshold = try await Self.exchangeAutocheckpoint(of: store, Self.backstopPages)
        } catch is CancellationError {
            return
        } catch {
            logger.warning("WAL checkpoints stay with the writer's commits", metadata: ["error": "\(error)"])
            return await Self.waitForShutdown()
        }
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                // Outside a transaction: a checkpoint cannot run inside one.
                _ = try await connection.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                if failing { logger.info("WAL checkpoints succeed again") }
                failing = false
            } catch is CancellationError {
                break
            } catch DatabaseError.SQLITE_INTERRUPT where Task.isCancelled {
                break  // cancellation interrupts a checkpoint in progress
            } catch DatabaseError.SQLITE_BUSY {
                // The writer's backstop checkpoint is running: nothing to do this time.
            } catch {
                if !failing { logger.warning("WAL checkpoint failed; the writer's own checkpoints take over", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        // In a task of its own: this one may be cancelled, and the write must still happen.
        let store = self.store
        _ = try? await Task { try await Self.exchangeAutocheckpoint(of: store, writerThreshold) }.value
    }

    /// Returns on graceful shutdown or cancellation.
    private static func waitForShutdown() async {
        try? await gracefulShutdown()
    }

    /// Sets the writer's automatic checkpoint threshold; returns the one it replaces.
    private static func exchangeAutocheckpoint(of store: HeraldStore, _ pages: Int) async throws -> Int {
        try await store.writer.writeWithoutTransaction { db in
            let previous = try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? pages
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(pages)")
            return previous
        }
    }

    /// A connection to the store's file, which must be in WAL mode: were the file missing or
    /// replaced, opening would create a new database, whose checkpoints would do nothing.
    ///
    /// `synchronous=FULL` like the store's writer (a checkpoint then syncs the log before
    /// copying it and the database file after). The journal mode is left as it is: GRDB's
    /// `.wal` setting would also lower `synchronous`. Waits briefly rather than failing when
    /// the schema is locked at start-up.
    private static func openConnection(_ path: String) async throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(1)
        configuration.label = "WALCheckpointer"
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        let mode = try await connection.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        guard mode == "wal" else {
            throw DatabaseError(message: "\(path) is not in WAL mode (journal_mode \(mode ?? "unknown")): not the server's database")
        }
        return connection
    }
}
