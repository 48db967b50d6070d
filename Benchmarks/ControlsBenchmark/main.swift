// Benchmark of the notification controls on a real SQLite file (WAL, synchronous=FULL), in process.
// Run with `make bench-controls` (release build). See BENCHMARKS.md for the figures.
//
// (a) Digests: CONTROLS_BENCH_EVENTS (100,000) `track/Comment Added` events for
//     CONTROLS_BENCH_DIGESTS (1,000) recipient+key pairs, appended through a GroupCommitWriter by
//     16 appenders in batches of 100 while the engine runs beside it as in the server
//     (EventProcessingService, StepWorkerService). Each digest has max_items = events / digests,
//     so every one fills and is sent. Reports ingest events/s, the time until the engine has
//     processed every event and sent every digest, the runs and messages made (one each per digest).
// (b) Cap checks: CONTROLS_BENCH_SENDS (20,000) due runs whose step sends to an inbox, over
//     CONTROLS_BENCH_RECIPIENTS (1,000) recipients, executed by the step worker with no cap, then with a limit on the
//     channel that is checked for every send and never reached. Reports sends/s of each and
//     the cost of the check. Rounds alternate (CONTROLS_BENCH_REPS, 5); CONTROLS_BENCH_PARTS ("digests,caps").
import AutomationEngine
import Foundation
import Logging
import SegmentSpec

let environment = ProcessInfo.processInfo.environment
let eventCount = Int(environment["CONTROLS_BENCH_EVENTS"] ?? "") ?? 100_000
let digestCount = Int(environment["CONTROLS_BENCH_DIGESTS"] ?? "") ?? 1_000
let sendCount = Int(environment["CONTROLS_BENCH_SENDS"] ?? "") ?? 20_000
let repetitions = Int(environment["CONTROLS_BENCH_REPS"] ?? "") ?? 5
let recipientCount = Int(environment["CONTROLS_BENCH_RECIPIENTS"] ?? "") ?? 1_000
let parts = Set((environment["CONTROLS_BENCH_PARTS"] ?? "digests,caps").split(separator: ",").map(String.init))
let workspace = "default"

func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func format(_ value: Double) -> String { String(format: "%.0f", value) }

func temporaryStore() throws -> (HeraldStore, URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-controls-bench-\(UUID().uuidString)")
    return (try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path), directory)
}

func track(_ name: String, user: String, properties: String) throws -> IngestEvent {
    let text = #"{"type":"track","event":"\#(name)","userId":"\#(user)","messageId":"\#(UUID().uuidString)","properties":\#(properties)}"#
    guard let object = try JSONParser.parse(text).objectValue else { fatalError("not an object") }
    return IngestEvent(event: try SegmentEvent(validating: object), raw: Array(text.utf8), workspaceId: workspace, receivedAt: Timestamp(Date()))
}

/// Warnings only: the engine's info lines would cost more than what is measured.
func benchLogger() -> Logger {
    var logger = Logger(label: "herald.bench")
    logger.logLevel = .warning
    return logger
}

// MARK: (a) digests

func digestBenchmark() async throws {
    let (store, directory) = try temporaryStore()
    defer { try? FileManager.default.removeItem(at: directory) }
    let perDigest = max(1, eventCount / digestCount)
    try await store.applyConfiguration(yaml: """
        channels:
          inbox: { type: inbox }
        templates:
          comments: { channel: inbox, subject: "{{digest.count}} new comments", body: "{{#digest.items}}{{data.n}} {{/digest.items}}" }
        automations:
          comment-digest:
            steps:
              - digest: { window: 1h, key: "{{data.thread_id}}", max_items: \(min(perDigest, 1_000)) }
              - send: comments
        mappings:
          - on: track/Comment Added
            run: comment-digest
        """, workspace: workspace, secrets: SecretEnvironment(variables: [:]))
    // Events in arrival order: round-robin over the digests, as interleaved traffic arrives.
    var built: [IngestEvent] = []
    built.reserveCapacity(eventCount)
    for n in 0..<eventCount {
        let digest = n % digestCount
        built.append(try track("Comment Added", user: "u-\(digest % 100)", properties: #"{"thread_id":"t-\#(digest)","n":\#(n)}"#))
    }
    let events = built
    let handoff = ParsedEventHandoff()
    let backlog = EngineBacklog(limit: 20_000)
    let writer = GroupCommitWriter(store: store, handoff: handoff, backlog: backlog)
    let writerTask = Task { try await writer.run() }
    let logger = benchLogger()
    let processing = EventProcessingService(processor: EventProcessor(store: store, handoff: handoff, backlog: backlog), backlog: backlog, logger: logger)
    let steps = StepWorkerService(worker: RunWorker(store: store, logger: logger), store: store, logger: logger)
    let engine = Task {
        await withDiscardingTaskGroup { group in
            group.addTask { try? await processing.run() }
            group.addTask { try? await steps.run() }
        }
    }
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        let appenders = 16
        for lane in 0..<appenders {
            group.addTask {
                var index = lane * 100
                while index < events.count {
                    _ = try await writer.append(Array(events[index..<min(index + 100, events.count)]), keyHash: nil)
                    index += appenders * 100
                }
            }
        }
        try await group.waitForAll()
    }
    let ingestSeconds = seconds(since: start)
    // Done when every digest was sent: as many runs as digests, none pending.
    while true {
        let pending = try await store.runs(workspace: workspace, matching: RunQuery(state: "pending", limit: 1)).count
        let runs = try await store.runs(workspace: workspace).count
        if pending == 0 && runs >= digestCount { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    let doneSeconds = seconds(since: start)
    let runs = try await store.runs(workspace: workspace)
    let messages = try await store.messages(workspace: workspace)
    let items = messages.reduce(0) { $0 + ($1.body ?? "").split(separator: " ").count }
    print("(a) \(eventCount) events into \(digestCount) digests (max_items \(perDigest)), 16 appenders x 100-event batches")
    print("    ingest \(format(Double(eventCount) / ingestSeconds)) events/s (\(String(format: "%.2f", ingestSeconds)) s);"
          + " every digest sent after \(String(format: "%.2f", doneSeconds)) s (engine \(format(Double(eventCount) / doneSeconds)) events/s)")
    print("    runs \(runs.count), messages \(messages.count), items in messages \(items)")
    engine.cancel()
    writerTask.cancel()
    _ = await engine.value
}

// MARK: (b) cap checks

func sendBenchmark(limited: Bool) async throws -> Double {
    let (store, directory) = try temporaryStore()
    defer { try? FileManager.default.removeItem(at: directory) }
    try await store.applyConfiguration(yaml: """
        channels:
          inbox: { type: inbox }
        templates:
          note: { channel: inbox, body: "note {{data.n}}" }
        \(limited ? "limits:\n  - { channel: inbox, max: 100, per: 1d }" : "")
        automations:
          note:
            steps:
              - send: note
        mappings:
          - on: track/Note
            run: note
        """, workspace: workspace, secrets: SecretEnvironment(variables: [:]))
    let writer = GroupCommitWriter(store: store)
    let writerTask = Task { try await writer.run() }
    var index = 0
    while index < sendCount {
        var batch: [IngestEvent] = []
        for n in index..<min(index + 500, sendCount) { batch.append(try track("Note", user: "u-\(n % recipientCount)", properties: #"{"n":\#(n)}"#)) }
        _ = try await writer.append(batch, keyHash: nil)
        index += 500
    }
    let processor = EventProcessor(store: store)
    while try await processor.processPending() > 0 {}
    let worker = RunWorker(store: store, logger: benchLogger())
    let start = ContinuousClock.now
    var sent = 0
    while true {
        let ran = try await worker.executeDue(limit: 10_000)
        sent += ran
        if ran == 0 { break }
    }
    let elapsed = seconds(since: start)
    writerTask.cancel()
    let skipped = try await store.messages(workspace: workspace, matching: MessageQuery(status: .skipped, limit: 1)).count
    precondition(sent == sendCount && skipped == 0, "\(sent) sends, \(skipped) skipped")
    return Double(sendCount) / elapsed
}

if parts.contains("digests") { try await digestBenchmark() }
if parts.contains("caps") {
    var plain: [Double] = []
    var capped: [Double] = []
    // Alternated, the other first every other round: the VM's speed drifts from minute to minute.
    for round in 0..<repetitions {
        for limited in round % 2 == 0 ? [false, true] : [true, false] {
            let rate = try await sendBenchmark(limited: limited)
            if limited { capped.append(rate) } else { plain.append(rate) }
            print("    round \(round + 1), \(limited ? "with a limit" : "no cap"): \(format(rate)) sends/s")
        }
    }
    let plainMedian = plain.sorted()[plain.count / 2]
    let cappedMedian = capped.sorted()[capped.count / 2]
    print("(b) \(sendCount) sends to \(recipientCount) recipients' inboxes, median of \(repetitions): no cap \(format(plainMedian)) sends/s, "
          + "a limit checked on every send \(format(cappedMedian)) sends/s: the check costs \(String(format: "%.1f", (1 - cappedMedian / plainMedian) * 100)) %")
}
