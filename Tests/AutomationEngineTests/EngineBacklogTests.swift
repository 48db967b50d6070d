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

        /// One event processed, then `behind` more committed: the lag is `behind`. Then one
        /// more commit, which goes as braking begins; the commit after it is held.
        func engageBrake(behind: Int) async throws {
            try await append("a", count: 1)
            #expect(try await processor.processPending() == 1)
            try await append("b", count: behind)
            try await append("c", count: 1)
        }
    }

    /// Appends one event in a task; `isCommitted` says whether its commit went through yet.
    private final class PendingAppend: Sendable {
        private final class Flag: Sendable {
            let value = Mutex(false)
        }

        let task: Task<Void, any Error>
        private let committed = Flag()

        init(_ herald: Harness, _ prefix: String) {
            let committed = self.committed
            task = Task {
                try await herald.append(prefix, count: 1)
                committed.value.withLock { $0 = true }
            }
        }

        var isCommitted: Bool { committed.value.withLock { $0 } }
    }

    @Test("over the limit, commits wait for the engine: one goes when braking begins, the next only once the engine has made up for it")
    func holdsUntilTheEngineCatchesUp() async throws {
        let backlog = EngineBacklog(limit: 5, maximumHold: .seconds(60), stallAfter: .seconds(60))
        let herald = try await Harness(backlog: backlog)
        #expect(backlog.lag == nil)  // no brake before the engine has reported
        try await herald.append("a", count: 3)
        #expect(try await herald.processor.processPending() == 3)
        #expect(backlog.lag == 0)
        try await herald.append("b", count: 10)  // within the limit when submitted: committed at once
        #expect(backlog.lag == 10)
        try await herald.append("c", count: 1)  // the brake engages at a lag of 10; this commit goes
        #expect(backlog.lag == 11)

        let held = PendingAppend(herald, "d")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!held.isCommitted, "a commit went through while the engine was 11 events behind a limit of 5")
        #expect(try await herald.store.eventCount() == 14)

        #expect(try await herald.processor.processPending() == 11)
        try await held.task.value
        #expect(held.isCommitted)
        #expect(try await herald.store.eventCount() == 15)
        try await herald.stop()
    }

    @Test("far above the limit, ingest keeps the engine's pace instead of waiting for the lag to fall under it")
    func keepsPaceFarAboveTheLimit() async throws {
        let backlog = EngineBacklog(limit: 5, maximumHold: .seconds(60), stallAfter: .seconds(60))
        let herald = try await Harness(backlog: backlog)
        try await herald.engageBrake(behind: 50)  // braking begins at a lag of 50
        let held = PendingAppend(herald, "d")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!held.isCommitted)
        // The engine works off 10 events: the lag (41) is still far above the limit, but below
        // where braking began, so the held commit goes.
        #expect(try await herald.processor.processPending(limit: 10) == 10)
        for _ in 0..<250 where !held.isCommitted { try await Task.sleep(for: .milliseconds(20)) }
        #expect(held.isCommitted, "still held 5 s after the engine made up for the last commit")
        #expect(backlog.lag == 42)
        try await herald.stop()
        try await held.task.value
    }

    @Test("a stalled engine releases the brake, and no commit is held longer than the maximum")
    func neverStopsIngest() async throws {
        let stalled = EngineBacklog(limit: 1, maximumHold: .seconds(60), stallAfter: .milliseconds(200))
        let first = try await Harness(backlog: stalled)
        try await first.engageBrake(behind: 5)
        // The engine never runs again: after 200 ms without progress the brake lets go.
        try await first.append("d", count: 1)
        #expect(try await first.store.eventCount() == 8)
        try await first.stop()

        let capped = EngineBacklog(limit: 1, maximumHold: .milliseconds(100), stallAfter: .seconds(60))
        let second = try await Harness(backlog: capped)
        try await second.engageBrake(behind: 5)
        try await second.append("d", count: 1)  // held at most 100 ms, then committed
        #expect(try await second.store.eventCount() == 8)
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
        try await herald.append("d", count: 1)
        #expect(backlog.lag == 52)
        try await herald.stop()
    }

    @Test("closing the writer releases a held commit at once: what was queued is written")
    func closingReleases() async throws {
        let backlog = EngineBacklog(limit: 1, maximumHold: .seconds(60), stallAfter: .seconds(60))
        let herald = try await Harness(backlog: backlog)
        try await herald.engageBrake(behind: 5)
        let held = PendingAppend(herald, "d")
        try await Task.sleep(for: .milliseconds(200))
        #expect(!held.isCommitted)
        let clock = ContinuousClock()
        let closedAt = clock.now
        try await herald.stop()
        try await held.task.value
        // Held for the 60 s maximum otherwise.
        #expect(clock.now - closedAt < .seconds(10))
        #expect(try await herald.store.eventCount() == 8)
    }
}
