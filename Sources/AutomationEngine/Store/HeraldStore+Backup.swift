import Foundation
import GRDB

/// What a backup (or a backup file) holds.
public struct BackupSummary: Sendable {
    /// The backup file.
    public let path: String
    /// Its size in bytes.
    public let bytes: Int64
    /// Events it holds, all workspaces.
    public let events: Int
    /// The newest schema migration it has (older backups are migrated when opened).
    public let schema: String
}

/// Why a file cannot be used as a backup or a restore target.
public struct BackupError: Error, CustomStringConvertible {
    public let description: String
}

extension HeraldStore {
    /// Copies the whole database to a new file at `destination`, while the server keeps
    /// running: SQLite's online backup, read in one read transaction, so the copy is the
    /// database as of one commit (every event acknowledged before the backup started is in
    /// it; ingest goes on meanwhile, WAL readers do not block the writer).
    ///
    /// The copy is written beside `destination` and renamed into place once complete and
    /// checked (`PRAGMA quick_check`), so `destination` is either a whole backup or absent.
    /// - Throws: ``BackupError`` when `destination` exists, or the copy fails its check.
    public func backup(to destination: String) throws -> BackupSummary {
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw BackupError(description: "\(destination) exists; give a new file name (a backup never overwrites)")
        }
        let directory = URL(fileURLWithPath: destination).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let partial = directory.appendingPathComponent(".\(URL(fileURLWithPath: destination).lastPathComponent).partial-\(UUID().uuidString)").path
        do {
            let copy = try DatabaseQueue(path: partial)
            // The source's reader takes one snapshot; the copy's pages are written in one go.
            try writer.backup(to: copy)
            // A self-contained single file: the backup is in rollback-journal mode, no -wal beside it.
            try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try copy.read { db in try Self.check(db, path: destination) }
            try copy.close()
            try FileManager.default.moveItem(atPath: partial, toPath: destination)
        } catch {
            for suffix in ["", "-journal", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: partial + suffix) }
            throw error
        }
        return try Self.inspectBackup(at: destination)
    }

    /// Reads a backup file without changing it: whether it is a sound Herald database, and what it holds.
    public static func inspectBackup(at path: String) throws -> BackupSummary {
        guard FileManager.default.fileExists(atPath: path) else { throw BackupError(description: "no backup at \(path)") }
        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw BackupError(description: "\(path) is not a SQLite database: \(error)")
        }
        defer { try? queue.close() }
        let (events, schema) = try queue.read { db in try Self.check(db, path: path) }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        return BackupSummary(path: path, bytes: bytes, events: events, schema: schema)
    }

    /// Checks that `db` is an intact Herald database; returns its event count and newest migration.
    @discardableResult
    private static func check(_ db: Database, path: String) throws -> (events: Int, schema: String) {
        let verdict: String
        do {
            verdict = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
        } catch {
            throw BackupError(description: "\(path) is not a SQLite database: \(error)")
        }
        guard verdict == "ok" else { throw BackupError(description: "\(path) is damaged: \(verdict)") }
        guard try db.tableExists("grdb_migrations"), try db.tableExists("event"),
            let schema = try String.fetchOne(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid DESC LIMIT 1")
        else {
            throw BackupError(description: "\(path) is a SQLite database, but not Herald's")
        }
        return (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0, schema)
    }

    /// Replaces the database at `target` with the backup at `source`, through SQLite's backup
    /// API (so a `-wal` file beside `target` is taken into account, never left stale), then
    /// migrates it to this version's schema. The server must be stopped: a running one keeps
    /// what it had cached.
    /// - Parameters:
    ///   - source: the backup file (checked before anything is written).
    ///   - target: the database file to restore into.
    ///   - replacing: whether an existing `target` may be replaced.
    public static func restore(from source: String, to target: String, replacing: Bool) throws -> BackupSummary {
        let summary = try inspectBackup(at: source)
        if FileManager.default.fileExists(atPath: target) && !replacing {
            throw BackupError(description: "\(target) exists; stop the server using it, then pass --force to replace it with the backup")
        }
        var readOnly = Configuration()
        readOnly.readonly = true
        let backup = try DatabaseQueue(path: source, configuration: readOnly)
        defer { try? backup.close() }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: target).deletingLastPathComponent(), withIntermediateDirectories: true)
        let destination = try DatabasePool(path: target)
        try backup.backup(to: destination)
        try destination.close()
        // Migrates a backup made by an older Herald, and checks the result opens as the server will.
        _ = try HeraldStore.open(path: target)
        return summary
    }
}
