import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import Logging
import SegmentSpec
import Testing

@Suite("Group-commit writer: one transaction for many requests, refusals that say why")
struct GroupCommitWriterTests {
    static func event(_ messageId: String, workspace: String = "default", at milliseconds: Int64 = 1_000_000) throws -> IngestEvent {
        let json = try #require(try JSONParser.parse(#"{"type":"track","event":"A","userId":"u","messageId":"\#(messageId)"}"#).objectValue)
        let event = try SegmentEvent(validating: json)
        return IngestEvent(event: event, raw: JSONValue.object(json).encodedBytes(), workspaceId: workspace,
                           receivedAt: Timestamp(millisecondsSince1970: milliseconds))
    }

    @Test("concurrent submissions are committed together and each gets its own outcomes")
    func groupCommit() async throws {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        let batches = LockedCounter()
        let writer = GroupCommitWriter(store: store) { events, _ in batches.add(events) }
        let runner = Task { try await writer.run() }
        let outcomes = try await withThrowingTaskGroup(of: [AppendOutcome].self) { group in
            for n in 0..<50 {
                group.addTask { try await writer.append([try Self.event("g-\(n)"), try Self.event("g-\(n)")], keyHash: key.secret.hash) }
            }
            return try await group.reduce(into: [[AppendOutcome]]()) { $0.append($1) }
        }
        writer.close()
        try await runner.value
        #expect(outcomes.count == 50)
        for pair in outcomes {
            guard case .accepted = pair[0] else { Issue.record("first of a pair should be accepted"); continue }
            #expect(pair[1] == .duplicate)
        }
        #expect(try await store.eventCount() == 50)
        #expect(batches.total == 100)
        #expect(batches.commits < 50)  // requests shared transactions
    }

    @Test("a full queue refuses with queueFull; a closed writer with shuttingDown")
    func refusals() async throws {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        var options = GroupCommitWriter.Options()
        options.queueCapacity = 1
        let writer = GroupCommitWriter(store: store, options: options)
        // Not running: whichever submission comes first waits in the queue; the other does not fit.
        let refusals = LockedCounter()
        let submit = { @Sendable (id: String) in
            Task {
                do { return try await writer.append([try Self.event(id)], keyHash: key.secret.hash) } catch {
                    refusals.add(1)
                    throw error
                }
            }
        }
        let first = submit("q-1")
        let second = submit("q-2")
        while refusals.commits == 0 { try await Task.sleep(for: .milliseconds(2)) }
        writer.close()
        await #expect(throws: IngestError.shuttingDown) { try await writer.append([try Self.event("q-3")], keyHash: key.secret.hash) }
        try await writer.run()  // drains what was queued before closing, then returns
        let results = [await first.result, await second.result]
        #expect(results.filter { (try? $0.get()) != nil }.count == 1)
        #expect(results.contains { if case .failure(let error) = $0 { return (error as? IngestError) == .queueFull }; return false })
        #expect(try await store.eventCount() == 1)
    }

    @Test("a key revoked after authentication writes nothing")
    func revokedKey() async throws {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        try await store.revokeKey(id: key.record.id)
        let writer = GroupCommitWriter(store: store)
        let runner = Task { try await writer.run() }
        await #expect(throws: IngestError.keyRevoked) { try await writer.append([try Self.event("r-1")], keyHash: key.secret.hash) }
        writer.close()
        try await runner.value
        #expect(try await store.eventCount() == 0)
    }

    @Test("dedup keys older than the window are pruned; younger ones stay")
    func pruning() async throws {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        let writer = GroupCommitWriter(store: store)
        let runner = Task { try await writer.run() }
        _ = try await writer.append([try Self.event("old", at: 1_000), try Self.event("new", at: 9_000)], keyHash: key.secret.hash)
        #expect(try await store.pruneDedupKeys(olderThan: Timestamp(millisecondsSince1970: 5_000)) == 1)
        // "new" is still remembered: a retry is a duplicate. "old" was forgotten: accepted again.
        let retry = try await writer.append([try Self.event("new", at: 9_500), try Self.event("old", at: 9_500)], keyHash: key.secret.hash)
        #expect(retry[0] == .duplicate)
        guard case .accepted = retry[1] else { Issue.record("expired key should be accepted"); return }
        writer.close()
        try await runner.value
    }
}

@Suite("Dedup keys expire: pruned in short batches, by a background service")
struct DedupPruningTests {
    static func dedupKeys(_ store: HeraldStore) async throws -> Int {
        try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM dedup") ?? -1 }
    }

    /// A store holding `old` keys received at 1970-01-01T00:00:01Z and `recent` received now.
    static func store(old: Int, recent: Int) async throws -> HeraldStore {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        let writer = GroupCommitWriter(store: store)
        let runner = Task { try await writer.run() }
        let now = Timestamp(Date()).millisecondsSince1970
        let events = try (0..<old).map { try GroupCommitWriterTests.event("old-\($0)", at: 1_000) }
            + (0..<recent).map { try GroupCommitWriterTests.event("recent-\($0)", at: now) }
        _ = try await writer.append(events, keyHash: key.secret.hash)
        writer.close()
        try await runner.value
        return store
    }

    @Test("a prune larger than one batch removes every expired key and no other, one transaction per batch")
    func batches() async throws {
        let store = try await Self.store(old: 2_500, recent: 3)
        // SQLite reports no row changes of a WITHOUT ROWID table, so count the statements.
        let statements = ConcurrentLog<String>()
        try await store.writer.writeWithoutTransaction { db in db.trace { statements.append("\($0)") } }
        let removed = try await store.pruneDedupKeys(olderThan: Timestamp(millisecondsSince1970: 5_000), batchSize: 1_000)
        #expect(removed == 2_500)
        // 1,000 + 1,000 + 500, each deleted in a transaction of its own.
        #expect(statements.values.filter { $0.hasPrefix("DELETE FROM dedup") }.count == 3)
        #expect(statements.values.filter { $0.hasPrefix("COMMIT") }.count == 3)
        #expect(try await Self.dedupKeys(store) == 3)
        #expect(try await store.pruneDedupKeys(olderThan: Timestamp(millisecondsSince1970: 5_000), batchSize: 1_000) == 0)
    }

    @Test("the pruner service removes keys older than its window on its own, and stops on cancellation")
    func service() async throws {
        let store = try await Self.store(old: 5, recent: 2)
        let pruner = DedupPruner(store: store, window: .seconds(3600), interval: .milliseconds(20), logger: Logger(label: "test"))
        let running = Task { try await pruner.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while try await Self.dedupKeys(store) != 2, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        running.cancel()
        try await running.value
        #expect(try await Self.dedupKeys(store) == 2)
    }
}

final class LockedCounter: Sendable {
    private let state = Mutex<(total: Int, commits: Int)>((0, 0))
    func add(_ events: Int) { state.withLock { $0.total += events; $0.commits += 1 } }
    var total: Int { state.withLock { $0.total } }
    var commits: Int { state.withLock { $0.commits } }
}

import Synchronization
