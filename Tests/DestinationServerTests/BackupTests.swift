import AsyncHTTPClient
import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// `herald backup` while the server takes traffic, and `herald restore`: the real binary
/// against a real database under ingest.
@Suite("Backup and restore", .serialized)
struct BackupTests {
    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-backup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The messageIds stored in the database at `path`.
    static func storedMessageIds(_ path: String) throws -> Set<String> {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)  // the server writes the same file meanwhile
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return Set(try queue.read { db in try String.fetchAll(db, sql: "SELECT messageId FROM event") })
    }

    @Test("a backup taken while 16 clients send holds every event acknowledged before it started; restored, a new server serves it")
    func backupUnderIngestAndRestore() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("herald.sqlite").path
        let created = try HeraldProcess.runToCompletion(["keys", "create", "--scope", "ingest", "--db", database])
        let key = try #require(created.output.split(separator: "\n").last.map(String.init))
        let server = try HeraldProcess(database: database)
        let load = ContinuousIngest(port: server.port, key: key, prefix: "backup")
        try await load.waitForAcknowledged(500)
        let beforeBackup = Set(load.acknowledged.values)
        let backupPath = directory.appendingPathComponent("backups/nightly.sqlite").path
        let backup = try HeraldProcess.runToCompletion(["backup", "--to", backupPath, "--db", database])
        // Ingest went on while the backup ran; let some more through, then stop.
        try await load.waitForAcknowledged(load.acknowledged.count + 200)
        await load.stop()
        #expect(server.terminate() == 0)

        #expect(backup.status == 0, "\(backup.output)")
        #expect(backup.output.contains("Backed up \(database) to \(backupPath)"))
        let inBackup = try Self.storedMessageIds(backupPath)
        #expect(beforeBackup.isSubset(of: inBackup), "acknowledged before the backup but missing from it: \(beforeBackup.subtracting(inBackup).count)")
        // One file, no journal beside it, and nothing left of the partial copy.
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("backups").path)
        #expect(names == ["nightly.sqlite"])

        // A backup never overwrites.
        let again = try HeraldProcess.runToCompletionWithError(["backup", "--to", backupPath, "--db", database])
        #expect(again.status != 0)
        #expect(again.errorOutput.contains("exists; give a new file name"))

        // Restore into a new file, and a server on it answers with the backed-up events.
        let restoredPath = directory.appendingPathComponent("restored.sqlite").path
        let restore = try HeraldProcess.runToCompletion(["restore", "--from", backupPath, "--db", restoredPath])
        #expect(restore.status == 0)
        #expect(restore.output.contains("(\(inBackup.count) events) into \(restoredPath)"))
        #expect(try Self.storedMessageIds(restoredPath) == inBackup)
        let restored = try HeraldProcess(database: restoredPath)
        let adminKey = try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", "admin", "--db", restoredPath]).output.split(separator: "\n").last.map(String.init))
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(restored.port)/api/events?limit=1")
        request.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect(response.status == .ok)
        #expect(body.contains("backup-"))
        #expect(restored.terminate() == 0)
    }

    @Test("restore refuses a file that is not a Herald backup, and an existing database without --force; with --force it replaces it")
    func restoreRefusals() throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let notDatabase = directory.appendingPathComponent("notes.txt").path
        try "not a database".write(toFile: notDatabase, atomically: true, encoding: .utf8)
        let target = directory.appendingPathComponent("herald.sqlite").path
        let refused = try HeraldProcess.runToCompletionWithError(["restore", "--from", notDatabase, "--db", target])
        #expect(refused.status != 0)
        #expect(refused.errorOutput.contains("is not a SQLite database"))
        #expect(!FileManager.default.fileExists(atPath: target), "nothing is written before the backup is checked")

        let otherSQLite = directory.appendingPathComponent("other.sqlite").path
        let other = try DatabaseQueue(path: otherSQLite)
        try other.write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        try other.close()
        let notHerald = try HeraldProcess.runToCompletionWithError(["restore", "--from", otherSQLite, "--db", target])
        #expect(notHerald.errorOutput.contains("is a SQLite database, but not Herald's"))

        // Two databases: the first gets a key, the backup is of the second (none).
        let first = try HeraldProcess.runToCompletion(["keys", "create", "--scope", "admin", "--db", target])
        #expect(first.status == 0)
        let second = directory.appendingPathComponent("second.sqlite").path
        #expect(try HeraldProcess.runToCompletion(["keys", "create", "--workspace", "second", "--scope", "admin", "--db", second]).status == 0)
        let backupPath = directory.appendingPathComponent("second-backup.sqlite").path
        #expect(try HeraldProcess.runToCompletion(["backup", "--to", backupPath, "--db", second]).status == 0)
        let withoutForce = try HeraldProcess.runToCompletionWithError(["restore", "--from", backupPath, "--db", target])
        #expect(withoutForce.status != 0)
        #expect(withoutForce.errorOutput.contains("exists; stop the server using it, then pass --force"))
        let forced = try HeraldProcess.runToCompletion(["restore", "--from", backupPath, "--db", target, "--force"])
        #expect(forced.status == 0)
        let workspaces = try HeraldProcess.runToCompletion(["workspaces", "list", "--db", target])
        #expect(workspaces.output.contains("second"))
    }
}
