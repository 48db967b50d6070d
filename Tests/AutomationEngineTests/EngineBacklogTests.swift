import AutomationEngine
import Foundation
import SegmentSpec
import Synchronization
import Testing

@Suite("Engine backlog: ingest slows down, never stops, while the engine is too far behind")
struct EngineBacklogTests {
    /// A writer with an engine backlog brake over a real SQLite file (in memory), and an engine.
    private struct Harness {
        let store: HeraldStore
        let writer: GroupCommitWriter
        let processor: EventProcessor
        let keyHash: Data
        let runner: Task<Void, any Error>

        init(backlog: EngineBacklog) async throws {
            store = try HeraldStore.inMemory()
            keyHash = try await store.createKey(workspace: "default", scope: .ingest).secret.hash
            writer = GroupCommitWriter(store: store, backlog: backlog)
            processor = EventProcessor(store: store, backlog: backlog)
            let writer = self.writer
            runner = Task { try await writer.run() }
        }

        func append(_ prefix: String, count: Int) async throws {
            let events = try (0..<count).map { try GroupCommitWriterTests.event("\(prefix)-\($0)") }
            _ = try await writer.append(events, keyHash: keyHash)
        }

        func stop() async throws {
            writer.close()
            try await runner.value
        }
    }

    @Test("over the limit, the next commit waits for the engine; once it has caught up, the commit goes through")
    func holdsUntilTheEngineCatchesUp() async throws {
        let backlog = EngineBacklog(limit: 5, maximumHold: .seconds(60), stallAfter: .seconds(60))
        let herald = try await Harness(backlog: backlog)
        #expect(backlog.lag == nil)  // no brake before the engine has reported
        try await herald.append("a", count: 3)
        #expect(try await herald.processor.processPending() == 3)
        #expect(backlog.lag == 0)
        try await herald.append("b", count: 10)  // within the limit when submitted: committed at once
        #expect(backlog.lag == 10)

        let committed = Atomic<Bool>(false)
        let held = Task {
            try await herald.append("c", count: 1)
            committed.store(true, ordering: .sequentiallyConsistent)
        }
        try await Task.sleep(for: .milliseconds(300))
        let committedEarly = committed.load(ordering: .sequentiallyConsistent)
        #expect(!committedEarly, "the commit went through while the engine was 10 events behind a limit of 5")
        #expect(try await herald.store.eventCount() == 13)

        #expect(try await herald.processor.processPending() == 10)
        try await held.value
        let committedLate = committed.load(ordering: .sequentiallyConsistent)
        #expect(committedLate)
        #expect(try await herald.store.eventCount() == 14)
        try await herald.stop()
    }

    @Test("a stalled engine releases the brake, and no commit is held longer than the maximum")
    func neverStopsIngest() async throws {
        let stalled = EngineBacklog(limit: 1, maximumHold: .seconds(60), stallAfter: .milliseconds(200))
        let first = try await Harness(backlog: stalled)
        try await first.append("a", count: 1)
        #expect(try await first.processor.processPending() == 1)
        try await first.append("b", count: 5)
        // The engine never runs again: after 200 ms without progress the brake lets go.
        try await first.append("c", count: 1)
        #expect(try await first.store.eventCount() == 7)
        try await first.stop()

        let capped = EngineBacklog(limit: 1, maximumHold: .milliseconds(100), stallAfter: .seconds(60))
        let second = try await Harness(backlog: capped)
        try await second.append("a", count: 1)
        #expect(try await second.processor.processPending() == 1)
        try await second.append("b", count: 5)
        try await second.append("c", count: 1)  // held at most 100 ms, then committed
        #expect(try await second.store.eventCount() == 7)
        try await second.stop()
    }

    @Test("a limit of 0 never holds a commit")
    func off() async throws {
        let backlog = EngineBacklog(limit: 0, maximumHold: .seconds(60), stallAfter: .seconds(60))
        let herald = try await Harness(backlog: backlog)
        try await herald.append("a", count: 1)
        #expect(try await herald.processor.processPending() == 1)
        try await herald.append("b", count: 50)
        try await herald.append("c", count: 1)
        #expect(backlog.lag == 51)
        try await herald.stop()
    }

    @Test("closing the writer releases a held commit at once: what was queued is written")
    func closingReleases() async throws {
        let backlog = EngineBacklog(limit: 1, maximumHold: .seconds(60), stallAfter: .seconds(60))
        let herald = try await Harness(backlog: backlog)
        try await herald.append("a", count: 1)
        #expect(try await herald.processor.processPending() == 1)
        try await herald.append("b", count: 5)
        let held = Task { try await herald.append("c", count: 1) }
        try await Task.sleep(for: .milliseconds(200))
        let clock = ContinuousClock()
        let closedAt = clock.now
        try await herald.stop()
        try await held.value
        // Held for the 60 s maximum otherwise.
        #expect(clock.now - closedAt < .seconds(10))
        #expect(try await herald.store.eventCount() == 7)
    }
}
