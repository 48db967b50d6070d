import AutomationEngine
import Foundation
import GRDB
import Synchronization
import Testing

@Suite("WAL checkpointer: committed events reach the database file without a commit copying them")
struct WALCheckpointerTests {
    /// A store on a fresh file, removed afterwards.
    private static func withStore(_ body: (HeraldStore, String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-wal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("herald.sqlite").path
        try await body(try HeraldStore.open(path: path), path)
    }

    /// Events in a copy of the database file alone, without its write-ahead log: only what a
    /// checkpoint has copied there (0 before the schema itself is). Nil while the copy cannot be read (taken mid-checkpoint).
    private static func eventsInDatabaseFile(_ path: String) -> Int? {
        let copy = path + ".copy-\(UUID().uuidString)"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: copy + suffix) } }
        do {
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            return try DatabaseQueue(path: copy).read { db in
                // The schema itself may still be only in the log.
                try db.tableExists("event") ? Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") : 0
            }
        } catch {
            return nil
        }
    }

    /// SQLite's own automatic checkpoint threshold.
    private static let sqliteDefaultPages = 1_000

    private static func writerAutocheckpoint(_ store: HeraldStore) async throws -> Int? {
        try await store.writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
    }

    /// Polls `condition` for up to 10 s.
    private static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<500 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    @Test("a few committed events, far below SQLite's own checkpoint size, are copied into the database file")
    func copiesCommittedEvents() async throws {
        try await Self.withStore { store, path in
            let key = try await store.createKey(workspace: "default", scope: .ingest)
            let writer = GroupCommitWriter(store: store)
            let writing = Task { try await writer.run() }
            _ = try await writer.append((0..<5).map { try GroupCommitWriterTests.event("wal-\($0)") }, keyHash: key.secret.hash)
            // Nothing has checkpointed yet: the log holds the events, the file does not.
            #expect(Self.eventsInDatabaseFile(path) == 0)

            let checkpointing = Task { try await WALCheckpointer(store: store, interval: .milliseconds(10)).run() }
            #expect(try await Self.eventually { Self.eventsInDatabaseFile(path) == 5 })
            checkpointing.cancel()
            try await checkpointing.value
            writer.close()
            try await writing.value
        }
    }

    @Test("while it runs the writer checkpoints by itself only past the backstop size; the writer's own threshold comes back after")
    func backstop() async throws {
        try await Self.withStore { store, _ in
            #expect(try await Self.writerAutocheckpoint(store) == Self.sqliteDefaultPages)
            let checkpointing = Task { try await WALCheckpointer(store: store, interval: .milliseconds(10)).run() }
            #expect(try await Self.eventually { try await Self.writerAutocheckpoint(store) == WALCheckpointer.backstopPages })
            checkpointing.cancel()
            try await checkpointing.value
            #expect(try await Self.writerAutocheckpoint(store) == Self.sqliteDefaultPages)
        }
    }

    @Test("a database file removed under the server is not replaced by an empty one: the writer keeps its own checkpoints")
    func fileGone() async throws {
        try await Self.withStore { store, path in
            for suffix in ["", "-wal", "-shm"] { try FileManager.default.removeItem(atPath: path + suffix) }
            let checkpointing = Task { try await WALCheckpointer(store: store, interval: .milliseconds(10)).run() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await Self.writerAutocheckpoint(store) == Self.sqliteDefaultPages)
            checkpointing.cancel()
            try await checkpointing.value
        }
    }

    @Test("an in-memory store has no log: the checkpointer waits for shutdown without finishing early, which would stop the server")
    func inMemory() async throws {
        final class Flag: Sendable { let value = Mutex(false) }
        let finished = Flag()
        let store = try HeraldStore.inMemory()
        let checkpointing = Task {
            try await WALCheckpointer(store: store).run()
            finished.value.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!finished.value.withLock { $0 })
        checkpointing.cancel()
        try await checkpointing.value
        #expect(finished.value.withLock { $0 })
    }
}
