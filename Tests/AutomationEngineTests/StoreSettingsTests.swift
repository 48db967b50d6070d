import AutomationEngine
import Foundation
import GRDB
import Testing

@Suite("Store settings: what makes a commit durable")
struct StoreSettingsTests {
    @Test("the writer commits with synchronous=FULL in WAL mode: an acknowledged event survives power loss, not only a crash")
    func writerSyncsEveryCommit() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-settings-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
        let (journal, synchronous) = try await store.writer.writeWithoutTransaction { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA synchronous"))
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL; GRDB's pool would leave NORMAL (1), which syncs only at checkpoints
    }
}
