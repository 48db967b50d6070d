import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import Logging
import SegmentSpec
import Testing

/// Retention on a real SQLite file: what is finished and older than the age goes, with its
/// history; what is still to do, the once_per ledger and the dedup window stay.
@Suite("Retention: finished records older than the age are removed, nothing else")
struct RetentionTests {
    static let configuration = """
        channels:
          inbox: { type: inbox }
          hook: { type: webhook, url: "http://127.0.0.1:9/hook" }
        templates:
          receipt: { channel: inbox, subject: "Receipt {{data.order_id}}", body: "Thanks" }
          welcome: { channel: inbox, subject: "Welcome", body: "Hello" }
          alert: { channel: hook, subject: "Alert", body: "Trial {{data.plan}}" }
          nudge: { channel: inbox, subject: "Still there?", body: "..." }
        automations:
          receipt: { steps: [ { send: { template: receipt } } ] }
          welcome: { steps: [ { send: { template: welcome } } ] }
          alert: { steps: [ { send: { template: alert } } ] }
          nudge: { steps: [ { delay: 1000d }, { send: { template: nudge } } ] }
        mappings:
          - { on: identify, run: welcome, once_per: user }
          - { on: track/Order Completed, run: receipt }
          - { on: track/Trial Started, run: alert }
          - { on: track/Trial Started, run: nudge }
        """

    /// A file database with the configuration, a writer, and an engine whose clock the test sets.
    struct Harness {
        let directory: URL
        let store: HeraldStore
        let writer: GroupCommitWriter
        let keyHash: Data
        let clock: TestClock
        let processor: EventProcessor
        let worker: RunWorker

        static func make() async throws -> Harness {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-retention-\(UUID().uuidString)")
            let store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
            let key = try await store.createKey(workspace: "default", scope: .ingest)
            try await store.applyConfiguration(yaml: RetentionTests.configuration, workspace: "default")
            let writer = GroupCommitWriter(store: store)
            Task { try await writer.run() }
            let clock = TestClock(start: Timestamp(millisecondsSince1970: 1_795_000_000_000))
            return Harness(
                directory: directory, store: store, writer: writer, keyHash: key.secret.hash, clock: clock,
                processor: EventProcessor(store: store, now: { clock.now }), worker: RunWorker(store: store, now: { clock.now }))
        }

        /// Appends an event received now (by the test clock); processes it and runs due steps unless told not to.
        @discardableResult
        func send(_ json: String, process: Bool = true) async throws -> AppendOutcome {
            let object = try #require(try JSONParser.parse(json).objectValue)
            let event = try SegmentEvent(validating: object)
            let outcome = try #require(try await writer.append([IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: clock.now)], keyHash: keyHash).first)
            if process {
                try await processor.processPending()
                _ = try await worker.executeDue()
            }
            return outcome
        }

        func count(_ sql: String, _ arguments: StatementArguments = []) async throws -> Int {
            try await store.writer.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test("an hour's retention removes the processed events, final messages and ended runs of two hours ago, with their history; the rest stays")
    func removesOnlyWhatIsFinished() async throws {
        let engine = try await Harness.make()
        defer { engine.remove() }
        // Two hours ago.
        try await engine.send(#"{"type":"identify","userId":"u-1","traits":{"plan":"free"},"messageId":"old-identify"}"#)
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-1","properties":{"order_id":"o-1"},"messageId":"old-order"}"#)
        try await engine.send(#"{"type":"track","event":"Trial Started","userId":"u-1","properties":{"plan":"pro"},"messageId":"old-trial"}"#)
        // Ten minutes ago.
        engine.clock.advance(.seconds(110 * 60))
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-2","properties":{"order_id":"o-2"},"messageId":"young-order"}"#)
        engine.clock.advance(.seconds(10 * 60))

        #expect(try await engine.count("SELECT COUNT(*) FROM event") == 4)
        #expect(try await engine.count("SELECT COUNT(*) FROM run") == 5)  // welcome, receipt, alert, nudge; receipt of u-2
        #expect(try await engine.count("SELECT COUNT(*) FROM message WHERE status = 'queued'") == 1)  // the alert: its webhook is not delivered here
        let cutoff = Timestamp(millisecondsSince1970: engine.clock.now.millisecondsSince1970 - 3_600_000)
        var predicted: [RetainedRecord: Int] = [:]
        for kind in RetainedRecord.allCases { predicted[kind] = try await engine.store.countPrunable(kind, olderThan: cutoff) }

        let pruner = RetentionPruner(store: engine.store, age: .seconds(3600), batchSize: 2, logger: Logger(label: "test"), now: { engine.clock.now })
        let removed = try await pruner.pruneOnce()
        #expect(removed == predicted, "the dry run's counts are what a prune removes")
        #expect(removed[.events] == 3)
        #expect(removed[.runs] == 3)  // welcome, receipt, alert (ended); the nudge waits 1000 days
        #expect(removed[.messages] == 2)  // welcome, receipt; the alert is still queued

        #expect(try await engine.count("SELECT COUNT(*) FROM event WHERE messageId LIKE 'old-%'") == 0)
        #expect(try await engine.count("SELECT COUNT(*) FROM event WHERE messageId = 'young-order'") == 1)
        #expect(try await engine.count("SELECT COUNT(*) FROM eventTrace") == 1)
        #expect(try await engine.count("SELECT COUNT(*) FROM run WHERE automation = 'nudge' AND state = 'pending'") == 1)
        #expect(try await engine.count("SELECT COUNT(*) FROM run WHERE recipient = 'u-2'") == 1)
        #expect(try await engine.count("SELECT COUNT(*) FROM runStep WHERE runId NOT IN (SELECT id FROM run)") == 0)
        #expect(try await engine.count("SELECT COUNT(*) FROM message WHERE status = 'queued'") == 1)
        #expect(try await engine.count("SELECT COUNT(*) FROM messageStatus WHERE messageId NOT IN (SELECT id FROM message)") == 0)
        #expect(try await engine.count("SELECT COUNT(*) FROM message WHERE recipient = 'u-2'") == 1)

        // A second pass finds nothing more.
        let again = try await pruner.pruneOnce()
        #expect(again.values.allSatisfy { $0 == 0 })

        // once_per is "once per user, ever": the ledger outlives the events and runs.
        try await engine.send(#"{"type":"identify","userId":"u-1","traits":{"plan":"pro"},"messageId":"young-identify"}"#)
        #expect(try await engine.count("SELECT COUNT(*) FROM run WHERE automation = 'welcome'") == 0)
        // The dedup window (7 days) still holds for a removed event: a retry is a duplicate.
        let retry = try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-1","properties":{"order_id":"o-1"},"messageId":"old-order"}"#)
        #expect(retry == .duplicate)
        #expect(try await engine.count("SELECT COUNT(*) FROM event WHERE messageId = 'old-order'") == 0)
    }

    @Test("an old event the engine has not processed yet stays, and so does every event after it")
    func unprocessedEventsStay() async throws {
        let engine = try await Harness.make()
        defer { engine.remove() }
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-1","properties":{"order_id":"o-1"},"messageId":"processed"}"#)
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-1","properties":{"order_id":"o-2"},"messageId":"waiting"}"#, process: false)
        engine.clock.advance(.seconds(3 * 3600))
        let pruner = RetentionPruner(store: engine.store, age: .seconds(3600), logger: Logger(label: "test"), now: { engine.clock.now })
        let removed = try await pruner.pruneOnce()
        #expect(removed[.events] == 1)
        #expect(try await engine.count("SELECT COUNT(*) FROM event WHERE messageId = 'waiting'") == 1)
        // Processed now, it starts its run as it would have.
        try await engine.processor.processPending()
        #expect(try await engine.count("SELECT COUNT(*) FROM run WHERE scope LIKE '%o-2%'") == 1)
    }
}
