// Benchmark of the automation engine on a real SQLite file (WAL, synchronous=FULL), in process.
// Run with `make bench-engine` (release build). See BENCHMARKS.md for the figures.
//
// (a) + (b) Ingest through a GroupCommitWriter while the engine runs beside it exactly as in
//     the server (EventProcessingService, StepWorkerService, DeliveryService),
//     with 0 and with 1,000 mappings, under batch load (16 appenders x 100 events) and under
//     single-event load (64 appenders x 1 event). Reports ingest events/s, engine events/s,
//     the engine's lag (events stored but not processed yet) and the time to drain it.
// (c) 100,000 pending runs whose next step sends to an inbox: all already due (throughput),
//     and due over a 20 s window (lateness = step time - due time); and the write floor: the
//     same sends' rows written by plain SQL without the engine, in the same run.
//
// Environment: ENGINE_BENCH_SEGMENT (0; 1 adds `segment:` to the runs part), ENGINE_BENCH_REPS (3), ENGINE_BENCH_SECONDS (5), ENGINE_BENCH_RUNS (100000),
// ENGINE_BENCH_SPREAD (20, seconds), ENGINE_BENCH_ORDERS ("creation,random"), ENGINE_BENCH_PARTS ("ingest,runs"), ENGINE_BENCH_BACKLOG (20000: the
// server's default engine backlog limit; 0 turns the brake off), ENGINE_BENCH_WRITER_CACHE_MB (the writer's page cache in the runs part; default: the server's).
import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import Logging
import SegmentSpec
import Synchronization

let environment = ProcessInfo.processInfo.environment
let repetitions = Int(environment["ENGINE_BENCH_REPS"] ?? "") ?? 3
let ingestSeconds = Double(environment["ENGINE_BENCH_SECONDS"] ?? "") ?? 5
let runCount = Int(environment["ENGINE_BENCH_RUNS"] ?? "") ?? 100_000
let spreadSeconds = Int(environment["ENGINE_BENCH_SPREAD"] ?? "") ?? 20
let backlogLimit = Int(environment["ENGINE_BENCH_BACKLOG"] ?? "") ?? 20_000
let parts = Set((environment["ENGINE_BENCH_PARTS"] ?? "ingest,runs").split(separator: ",").map(String.init))
let workspace = "bench"

// MARK: - Helpers

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(sorted.count - 1, max(0, rank))]
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func wallMilliseconds() -> Int64 { Timestamp(Date()).millisecondsSince1970 }

func format(_ value: Double, _ digits: Int = 0) -> String {
    guard value.isFinite else { return "—" }
    let formatter = NumberFormatter()
    formatter.numberStyle = .decimal
    formatter.minimumFractionDigits = digits
    formatter.maximumFractionDigits = digits
    formatter.locale = Locale(identifier: "en_US")
    return formatter.string(from: NSNumber(value: value)) ?? "\(value)"
}

/// A fresh database file in a temporary directory, removed by `remove()`.
struct TemporaryDatabase {
    let directory: URL
    let store: HeraldStore

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-engine-bench-\(UUID().uuidString)")
        store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

/// The engine as the server runs it (`buildApplication`): the event processor, the step
/// worker and the delivery service, each its own loop.
func startEngine(_ store: HeraldStore, handoff: ParsedEventHandoff? = nil, backlog: EngineBacklog? = nil) -> Task<Void, Never> {
    var logger = Logger(label: "herald.bench")
    logger.logLevel = .warning
    let processing = EventProcessingService(processor: EventProcessor(store: store, handoff: handoff, backlog: backlog), backlog: backlog, logger: logger)
    let steps = StepWorkerService(worker: RunWorker(store: store, logger: logger), store: store, logger: logger)
    // Its configurations have no webhook channel, so the outbound client never makes an
    // HTTP client, and there is none to shut down.
    let delivery = DeliveryService(store: store, channels: .standard(outbound: OutboundHTTPClient(policy: OutboundDestinationPolicy(), logger: logger)), logger: logger)
    return Task {
        await withDiscardingTaskGroup { group in
            group.addTask { try? await processing.run() }
            group.addTask { try? await steps.run() }
            group.addTask { try? await delivery.run() }
        }
    }
}

final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func take(_ count: Int) -> Int { value.add(count, ordering: .relaxed).oldValue }
}

// MARK: - Events and configurations

/// Median-size events of Segment's direct-tester corpus (as `make bench` sends), with fresh ids.
func makeEventPool(count: Int) throws -> [IngestEvent] {
    let corpus = try DirectTesterCorpus()
    var filler = PlaceholderFiller(prefix: "engine-bench")
    let sizes = corpus.templates.map { filler.fill($0.text).utf8.count }.sorted()
    let medianSize = Double(sizes[sizes.count / 2])
    let templates = corpus.templates.filter {
        let size = Double(filler.fill($0.text).utf8.count)
        return size >= medianSize * 0.75 && size <= medianSize * 1.25
    }
    let received = Timestamp(Date())
    var pool: [IngestEvent] = []
    pool.reserveCapacity(count)
    var index = 0
    while pool.count < count {
        let text = filler.fill(templates[index % templates.count].text)
        index += 1
        guard let object = try? JSONParser.parse(text).objectValue, let event = try? SegmentEvent(validating: object), event.type != .delete
        else { continue }
        pool.append(IngestEvent(event: event, raw: Array(text.utf8), workspaceId: workspace, receivedAt: received))
    }
    return pool
}

/// 1,000 mappings over 1,000 event names nobody sends, plus two mappings on each of the three
/// most frequent names actually sent (one condition mostly true, one false); every `run`
/// starts a follow-up whose first step (a 1-day delay) is due at once.
func mappingConfiguration(sentNames: [String]) -> String {
    var yaml = """
        channels:
          inbox: { type: inbox }
        templates:
          note:
            channel: inbox
            subject: "Hello {{profile.firstName}}"
            body: "You did {{event.name}} with {{data.revenue}} {{data.currency}}"
        automations:
          follow-up:
            steps:
              - delay: 1d
              - send: note
        mappings:

        """
    for n in 0..<1_000 {
        yaml += """
              - on: "track/Bench Event \(String(format: "%04d", n))"
                when: 'data.revenue > \(n) && data.currency == "usd"'
                run: follow-up

            """
    }
    for name in sentNames {
        yaml += """
              - on: "\(name)"
                when: 'event.userId exists && !(traits.plan == "enterprise")'
                run: follow-up
              - on: "\(name)"
                when: 'data.revenue > 1000000 || traits.plan == "enterprise"'
                run: follow-up

            """
    }
    return yaml
}

// MARK: - (a) + (b) ingest with the engine running

struct IngestResult {
    var ingested = 0
    var ingestSeconds = 0.0
    var ingestRate: Double { Double(ingested) / ingestSeconds }
    var processedDuringIngest = 0
    var engineRate: Double { Double(processedDuringIngest) / ingestSeconds }
    var maxLag = 0
    /// Largest lag in the first and in the second half of the ingest window: bounded lag stops growing.
    var maxLagFirstHalf = 0
    var maxLagSecondHalf = 0
    var p99Lag = 0
    var lagAtEnd = 0
    var drainSeconds = 0.0
    var runsCreated = 0
}

struct LagSample: Sendable {
    let stored: Int
    let processed: Int
}

func measureIngest(pool: [IngestEvent], configuration: String?, appenders: Int, batch: Int, duration: Double) async throws -> IngestResult {
    let database = try TemporaryDatabase()
    defer { database.remove() }
    let store = database.store
    let key = try await store.createKey(workspace: workspace, scope: .ingest)
    if let configuration { try await store.applyConfiguration(yaml: configuration, workspace: workspace) }
    // Wired as buildApplication wires them; ENGINE_BENCH_BACKLOG=0 measures without the brake.
    let handoff = ParsedEventHandoff()
    let backlog = EngineBacklog(limit: backlogLimit)
    let writer = GroupCommitWriter(store: store, handoff: handoff, backlog: backlog)
    let writerTask = Task { try? await writer.run() }
    let engine = startEngine(store, handoff: handoff, backlog: backlog)
    let lagQuery = """
        SELECT COALESCE((SELECT MAX(seq) FROM event), 0), COALESCE((SELECT lastSeq FROM engineCursor WHERE id = 1), 0)
        """
    let sampler = Task { () -> [LagSample] in
        var samples: [LagSample] = []
        while !Task.isCancelled {
            // Read into a Sendable value so the asynchronous read is used: the synchronous
            // one would block this task's thread, which the engine and the writer share.
            let sample = try? await store.writer.read { db in
                try Row.fetchOne(db, sql: lagQuery).map { LagSample(stored: $0[0], processed: $0[1]) }
            }
            if let sample = sample.flatMap({ $0 }) { samples.append(sample) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return samples
    }
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start + .milliseconds(Int(duration * 1000))
    let next = Counter()
    let hash = key.secret.hash
    let ingested = await withTaskGroup(of: Int.self) { group in
        for _ in 0..<appenders {
            group.addTask {
                var appended = 0
                while clock.now < deadline {
                    let first = next.take(batch)
                    guard first < pool.count else { break }
                    let slice = Array(pool[first..<min(first + batch, pool.count)])
                    do {
                        _ = try await writer.append(slice, keyHash: hash)
                        appended += slice.count
                    } catch {
                        print("append failed: \(error)")
                    }
                }
                return appended
            }
        }
        return await group.reduce(0, +)
    }
    let ingestEnd = clock.now
    sampler.cancel()
    let samples = await sampler.value
    var result = IngestResult()
    result.ingested = ingested
    result.ingestSeconds = seconds(ingestEnd - start)
    let cursorAtEnd = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT lastSeq FROM engineCursor WHERE id = 1") ?? 0 }
    let lastSeq = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT MAX(seq) FROM event") ?? 0 }
    result.processedDuringIngest = cursorAtEnd
    let lags = samples.map { Double($0.stored - $0.processed) }.sorted()
    result.maxLag = Int(lags.last ?? 0)
    let ordered = samples.map { $0.stored - $0.processed }
    result.maxLagFirstHalf = ordered.prefix(ordered.count / 2).max() ?? 0
    result.maxLagSecondHalf = ordered.suffix(ordered.count - ordered.count / 2).max() ?? 0
    result.p99Lag = Int(percentile(lags, 0.99))
    result.lagAtEnd = lastSeq - cursorAtEnd
    // Drain: how long the engine needs to catch up once ingest stops.
    while true {
        let cursor = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT lastSeq FROM engineCursor WHERE id = 1") ?? 0 }
        if cursor >= lastSeq || clock.now - ingestEnd > .seconds(30) { break }
        try await Task.sleep(for: .milliseconds(5))
    }
    result.drainSeconds = seconds(clock.now - ingestEnd)
    result.runsCreated = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run") ?? 0 }
    engine.cancel()
    await engine.value
    writer.close()
    await writerTask.value
    return result
}

// MARK: - (c) 100,000 pending runs

// ENGINE_BENCH_SEGMENT=1: the workspace is a Segment source, so every inbox send also writes
// its `Message Sent` call to the outbox (the outbox service does not run: only the write is measured).
let segmentSection = environment["ENGINE_BENCH_SEGMENT"] == "1" ? "segment: { write_key: wk_bench, endpoint: \"http://127.0.0.1:9\" }\n" : ""
let runConfiguration = segmentSection + """
    channels:
      inbox: { type: inbox }
    templates:
      reminder:
        channel: inbox
        subject: "{{profile.firstName}}, your order {{data.order_id}} ships soon"
        body: "We will deliver {{data.revenue}} {{data.currency}} of goods to {{profile.firstName}}."
    automations:
      reminder:
        steps:
          - delay: 1h
          - send: { template: reminder, channel: inbox }
    mappings:
      - on: track/Order Completed
        run: reminder
    """

struct RunsResult {
    var sent = 0
    var seconds = 0.0
    var sendRate: Double { Double(sent) / seconds }
    var unsentAtTimeout = 0
    /// Inserting the runs, before the engine starts.
    var setupSeconds = 0.0
    /// Step time recorded by the worker minus due time, ms (sorted).
    var recorded: [Double] = []
    /// Time the message was seen committed minus due time, ms (sorted); unsent ones count as late as the timeout.
    var committed: [Double] = []
    /// The largest committed lateness among steps due in each 5 s of the window, ms: where in the run the late ones are.
    var worstByFiveSeconds: [Double] = []
}

struct CommitSample: Sendable {
    let at: Int64
    let maxRowid: Int64
}

/// ENGINE_BENCH_WRITER_CACHE_MB: the writer connection's page cache for the runs part (the
/// server's is 32 MB, `PRAGMA cache_size` in `HeraldStore`), to measure what a larger one buys.
let writerCacheMegabytes = Int(environment["ENGINE_BENCH_WRITER_CACHE_MB"] ?? "")

/// A database holding `count` pending runs of `reminder` whose next step (1) is the inbox
/// send, due at `dueAt(i)`, for 10,000 recipients with profiles. Returns it, the runs' due
/// times by id, and when the insertion started.
func databaseWithPendingRuns(count: Int, dueAt: @Sendable (Int, Int64) -> Int64) async throws -> (TemporaryDatabase, [Int64: Int64], Int64) {
    let database = try TemporaryDatabase()
    let store = database.store
    if let writerCacheMegabytes {
        try await store.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = -\(writerCacheMegabytes * 1024)") }
    }
    let version = try await store.applyConfiguration(yaml: runConfiguration, workspace: workspace).version
    let t0 = wallMilliseconds()
    let due: [Int64: Int64] = try await store.writer.write { db in
        let profile = try db.makeStatement(sql: "INSERT INTO profile (workspaceId, profileId, userId, traits, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)")
        for n in 0..<10_000 {
            try profile.execute(arguments: [workspace, "user-\(n)", "user-\(n)", #"{"firstName":"User \#(n)","plan":"free"}"#, t0, t0])
        }
        let insert = try db.makeStatement(sql: """
            INSERT INTO run (workspaceId, automation, configVersion, recipient, eventSeq, scope, token, state, nextStep, dueAt, createdAt, updatedAt)
            VALUES (?, 'reminder', ?, ?, ?, ?, NULL, 'pending', 1, ?, ?, ?)
            """)
        var due: [Int64: Int64] = [:]
        due.reserveCapacity(count)
        for i in 0..<count {
            let user = "user-\(i % 10_000)"
            let scope = """
                {"data":{"order_id":"o-\(i)","revenue":\(10 + i % 90),"currency":"usd"},"traits":{},"profile":{},"group":{},\
                "event":{"messageId":"m-\(i)","type":"track","name":"track/Order Completed","userId":"\(user)","anonymousId":null}}
                """
            let at = dueAt(i, t0)
            try insert.execute(arguments: [workspace, version, user, i + 1, scope, at, t0 - 3_600_000, t0 - 3_600_000])
            due[db.lastInsertedRowID] = at
        }
        return due
    }
    // The setup's write-ahead log (hundreds of MB at a million runs) is folded into the file
    // now: the engine's first commit would otherwise pay for the setup's checkpoint.
    try await store.writer.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    return (database, due, t0)
}

/// The floor under the step worker, on this machine and this database: the rows a send writes
/// (the step's history entry, the message, its first status, the completion entry, the run's
/// new state), written with plain prepared statements in transactions of the worker's batch
/// size (200), the message text fixed instead of rendered; no engine code at all. Returns
/// sends per second with all `count` runs due.
func measureWriteFloor(count: Int) async throws -> Double {
    let (database, _, _) = try await databaseWithPendingRuns(count: count) { _, t0 in t0 - 1_000 }
    defer { database.remove() }
    let store = database.store
    let subject = "User 1234, your order o-123456 ships soon"
    let body = "We will deliver 55 usd of goods to User 1234."
    let clock = ContinuousClock()
    let start = clock.now
    var sent = 0
    while true {
        let now = wallMilliseconds()
        let batch = try await store.writer.write { db -> Int in
            let due = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT id, workspaceId, recipient FROM run WHERE state = 'pending' AND dueAt <= ? ORDER BY dueAt, id LIMIT 200"),
                arguments: [now])
            for run in due {
                let runId: Int64 = run["id"]
                let messageId = "msg_\(runId)_1"
                try db.cachedStatement(sql: "INSERT INTO runStep (runId, step, outcome, at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [runId, 1, "sent reminder to inbox", now])
                try db.cachedStatement(sql: """
                    INSERT INTO message (id, workspaceId, runId, recipient, channel, channelType, template, subject, body, status, createdAt, updatedAt)
                    VALUES (?, ?, ?, ?, 'inbox', 'inbox', 'reminder', ?, ?, 'sent', ?, ?)
                    """).execute(arguments: [messageId, run["workspaceId"], runId, run["recipient"], subject, body, now, now])
                try db.cachedStatement(sql: "INSERT INTO messageStatus (messageId, status, reason, at) VALUES (?, 'sent', NULL, ?)")
                    .execute(arguments: [messageId, now])
                try db.cachedStatement(sql: "INSERT INTO runStep (runId, step, outcome, at) VALUES (?, ?, 'completed', ?)")
                    .execute(arguments: [runId, 2, now])
                try db.cachedStatement(sql: "UPDATE run SET state = 'completed', nextStep = 2, updatedAt = ? WHERE id = ?")
                    .execute(arguments: [now, runId])
            }
            return due.count
        }
        guard batch > 0 else { break }
        sent += batch
    }
    precondition(sent == count, "the floor wrote \(sent) of \(count) sends")
    return Double(sent) / seconds(clock.now - start)
}

/// Inserts `count` pending runs (``databaseWithPendingRuns``), then runs the engine until all
/// are sent.
func measureRuns(count: Int, dueAt: @escaping @Sendable (Int, Int64) -> Int64, timeout: Duration) async throws -> RunsResult {
    let (database, due, t0) = try await databaseWithPendingRuns(count: count, dueAt: dueAt)
    defer { database.remove() }
    let store = database.store
    let sampler = Task { () -> [CommitSample] in
        var samples: [CommitSample] = []
        while !Task.isCancelled {
            if let top = try? await store.writer.read({ db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(rowid), 0) FROM message") }) {
                samples.append(CommitSample(at: wallMilliseconds(), maxRowid: top))
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return samples
    }
    let clock = ContinuousClock()
    let start = clock.now
    let startWall = wallMilliseconds()
    let engine = startEngine(store)
    var finished = start
    while clock.now - start < timeout {
        // Messages are only inserted here, so the largest rowid is their count (COUNT(*) would scan).
        let sent = try await store.writer.read { db in try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(rowid), 0) FROM message") ?? 0 }
        finished = clock.now
        if sent >= count { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    engine.cancel()
    await engine.value
    sampler.cancel()
    let samples = await sampler.value
    let endWall = wallMilliseconds()
    let messages = try await store.writer.read { db in
        try Row.fetchAll(db, sql: "SELECT rowid, runId, createdAt FROM message").map { (rowid: $0[0] as Int64, runId: $0[1] as Int64, createdAt: $0[2] as Int64) }
    }
    var result = RunsResult()
    result.sent = messages.count
    result.setupSeconds = Double(startWall - t0) / 1000
    result.seconds = seconds(finished - start)
    var recorded: [Double] = []
    var committed: [Double] = []
    var worst: [Double] = []
    var sentRuns = Set<Int64>()
    var sampleIndex = 0
    for message in messages.sorted(by: { $0.rowid < $1.rowid }) {
        guard let dueAt = due[message.runId] else { continue }
        sentRuns.insert(message.runId)
        recorded.append(Double(message.createdAt - max(dueAt, startWall)))
        while sampleIndex < samples.count && samples[sampleIndex].maxRowid < message.rowid { sampleIndex += 1 }
        let seen = sampleIndex < samples.count ? samples[sampleIndex].at : endWall
        committed.append(Double(seen - max(dueAt, startWall)))
        let window = Int(max(0, dueAt - startWall) / 5_000)
        if window >= worst.count { worst += Array(repeating: 0, count: window - worst.count + 1) }
        worst[window] = max(worst[window], Double(seen - max(dueAt, startWall)))
    }
    result.worstByFiveSeconds = worst
    for (run, dueAt) in due where !sentRuns.contains(run) && dueAt <= endWall {
        result.unsentAtTimeout += 1
        committed.append(Double(endWall - max(dueAt, startWall)))
        recorded.append(Double(endWall - max(dueAt, startWall)))
    }
    result.recorded = recorded.sorted()
    result.committed = committed.sorted()
    return result
}

// MARK: - Main

print("Herald automation engine benchmark: \(ProcessInfo.processInfo.activeProcessorCount) cores, \(repetitions) repetitions, medians")
var report: [String] = []
var verdicts: [String] = []

if parts.contains("ingest") {
    let poolSize = Int(environment["ENGINE_BENCH_POOL"] ?? "") ?? 400_000
    let setupStart = ContinuousClock.now
    let pool = try makeEventPool(count: poolSize)
    var tally: [String: Int] = [:]
    for event in pool { tally[event.name, default: 0] += 1 }
    let topNames = tally.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }.prefix(3).map(\.key)
    let share = Double(topNames.reduce(0) { $0 + tally[$1]! }) / Double(pool.count)
    let configuration = mappingConfiguration(sentNames: topNames)
    let mean = pool.reduce(0) { $0 + $1.raw.utf8.count } / pool.count
    print("event pool: \(pool.count) events, \(tally.count) names, mean \(mean) B, built in \(format(seconds(ContinuousClock.now - setupStart), 1)) s")
    print("mapped names actually sent: \(topNames.joined(separator: ", ")) (\(format(share * 100, 1))% of events)")

    for (label, appenders, batch) in [("batch", 16, 100), ("single", 64, 1)] {
        var results: [String: [IngestResult]] = ["0": [], "1000": []]
        for rep in 1...repetitions {
            for mappings in ["0", "1000"] {
                let result = try await measureIngest(
                    pool: pool, configuration: mappings == "0" ? nil : configuration, appenders: appenders, batch: batch, duration: ingestSeconds)
                results[mappings]!.append(result)
                print("  \(label) rep \(rep), \(mappings) mappings: ingest \(format(result.ingestRate)) ev/s, engine \(format(result.engineRate)) ev/s, "
                    + "lag max \(result.maxLag) (halves \(result.maxLagFirstHalf)/\(result.maxLagSecondHalf)) p99 \(result.p99Lag) at end \(result.lagAtEnd), drain \(format(result.drainSeconds, 2)) s, runs \(result.runsCreated)")
            }
        }
        for mappings in ["0", "1000"] {
            let r = results[mappings]!
            report.append("| \(label) (\(appenders) x \(batch) events) | \(mappings) | \(format(median(r.map(\.ingestRate)))) | \(format(median(r.map(\.engineRate)))) | "
                + "\(format(median(r.map { Double($0.maxLag) }))) | \(format(median(r.map { Double($0.p99Lag) }))) | \(format(median(r.map { Double($0.lagAtEnd) }))) | "
                + "\(format(median(r.map(\.drainSeconds)), 2)) s | \(format(median(r.map { Double($0.runsCreated) }))) |")
        }
        let without = median(results["0"]!.map(\.ingestRate))
        let with = median(results["1000"]!.map(\.ingestRate))
        let ratio = with / without
        if label == "single" {
            verdicts.append("| single-event ingest with 1,000 mappings within 10% of none (in process) | \(format(ratio * 100, 1))% (\(format(with)) vs \(format(without)) ev/s) | \(ratio >= 0.9 ? "MET" : "NOT MET") |")
        } else {
            verdicts.append("| (batch ingest with 1,000 mappings vs none, in process, for reference) | \(format(ratio * 100, 1))% (\(format(with)) vs \(format(without)) ev/s) | — |")
        }
        // Keeping up: the lag stops growing (its maximum over the second half of the run is at most
        // 10% above the first half's, plus 1,000 events of slack), or the engine processed 95% of ingest.
        let mapped = results["1000"]!
        let bounded = median(mapped.map { Double($0.maxLagSecondHalf) - 1.1 * Double($0.maxLagFirstHalf) }) <= 1_000
        let keptUp = bounded || median(mapped.map { $0.engineRate / $0.ingestRate }) >= 0.95
        let brake = backlogLimit > 0 ? "engine backlog brake at \(backlogLimit) events" : "no engine backlog brake"
        verdicts.append("| engine keeps up with \(label) ingest, 1,000 mappings, \(brake) (lag stops growing: max over the 2nd half ≤ 1.1 × 1st half + 1,000) | "
            + "lag max 1st/2nd half \(format(median(mapped.map { Double($0.maxLagFirstHalf) })))/\(format(median(mapped.map { Double($0.maxLagSecondHalf) }))), "
            + "\(format(median(mapped.map { $0.engineRate / $0.ingestRate }) * 100, 1))% of ingest, lag max \(format(median(mapped.map { Double($0.maxLag) }))), drain \(format(median(mapped.map(\.drainSeconds)), 2)) s | \(keptUp ? "MET" : "NOT MET") |")
    }
}

var runsReport: [String] = []
if parts.contains("runs") {
    let timeout = Duration.seconds(Int(environment["ENGINE_BENCH_TIMEOUT"] ?? "") ?? 90)
    var backlog: [RunsResult] = []
    var spreads: [String: [RunsResult]] = [:]
    let window = Int64(spreadSeconds * 1000)
    let count = Int64(runCount)
    // Due times over the window in creation order (what a fixed `delay:` gives: runs started
    // one after another come due one after another), and in random order (the worst case:
    // every step touches a different page of the run table).
    // ENGINE_BENCH_ORDERS=creation measures only the first (a million runs in random order take minutes).
    let wantedOrders = Set((environment["ENGINE_BENCH_ORDERS"] ?? "creation,random").split(separator: ",").map(String.init))
    // The window opens once the runs are inserted (about 8 s for a million): steps due while
    // the setup still ran would all be due at the engine's start, a backlog no steady load has.
    let setupMargin = Int64(max(2_000, runCount / 50))
    let allOrders: [(name: String, key: String, dueAt: @Sendable (Int, Int64) -> Int64)] = [
        ("in creation order", "creation", { i, t0 in t0 + setupMargin + Int64(i) * window / count }),
        ("in random order", "random", { i, t0 in t0 + setupMargin + Int64((UInt64(i) &* 2_654_435_761) % UInt64(window)) }),
    ]
    let orders = allOrders.filter { wantedOrders.contains($0.key) }
    var floors: [Double] = []
    // ENGINE_BENCH_SPREAD_ONLY=1: only the lateness runs (the throughput and floor runs take minutes at a million).
    let spreadOnly = environment["ENGINE_BENCH_SPREAD_ONLY"] == "1"
    for rep in 1...repetitions where !spreadOnly {
        let b = try await measureRuns(count: runCount, dueAt: { _, t0 in t0 - 1_000 }, timeout: timeout)
        backlog.append(b)
        print("  runs rep \(rep), all due: \(b.sent) sends in \(format(b.seconds, 2)) s = \(format(b.sendRate)) sends/s\(b.unsentAtTimeout > 0 ? ", \(b.unsentAtTimeout) unsent at timeout" : "")")
        let floor = try await measureWriteFloor(count: runCount)
        floors.append(floor)
        print("  runs rep \(rep), write floor (a send's rows by plain SQL, no engine): \(format(floor)) sends/s")
    }
    for rep in 1...repetitions {
        for order in orders {
            let s = try await measureRuns(count: runCount, dueAt: order.dueAt, timeout: timeout)
            spreads[order.name, default: []].append(s)
            print("  runs rep \(rep), due over \(spreadSeconds) s \(order.name) (setup \(format(s.setupSeconds, 1)) s, done in \(format(s.seconds, 1)) s): lateness (recorded) p50 \(format(percentile(s.recorded, 0.5))) p99 \(format(percentile(s.recorded, 0.99))) max \(format(s.recorded.last ?? .nan)) ms; "
                + "(committed) p50 \(format(percentile(s.committed, 0.5))) p99 \(format(percentile(s.committed, 0.99))) max \(format(s.committed.last ?? .nan)) ms\(s.unsentAtTimeout > 0 ? ", \(s.unsentAtTimeout) unsent at timeout" : "")")
            print("    worst committed lateness per 5 s of due time, ms: \(s.worstByFiveSeconds.map { format($0) }.joined(separator: " "))")
        }
    }
    let rate = median(backlog.map(\.sendRate))
    let floor = median(floors)
    if !spreadOnly {
    runsReport.append("| \(format(Double(runCount))) runs all due at start | \(format(rate)) sends/s (\(format(median(backlog.map(\.seconds)), 1)) s to send all) | — | — | — |")
    runsReport.append("| write floor: the same sends' rows by plain SQL, no engine | \(format(floor)) sends/s (engine at \(format(rate / floor * 100, 1))% of it) | — | — | — |")
    }
    for order in orders {
        let spread = spreads[order.name]!
        runsReport.append("| \(format(Double(runCount))) runs due over \(spreadSeconds) s (\(format(Double(runCount) / Double(spreadSeconds))) /s) \(order.name), step time − due | — | \(format(median(spread.map { percentile($0.recorded, 0.5) }))) ms | \(format(median(spread.map { percentile($0.recorded, 0.99) }))) ms | \(format(median(spread.map { $0.recorded.last ?? .nan }))) ms |")
        runsReport.append("| same, committed (seen by a reader) − due | — | \(format(median(spread.map { percentile($0.committed, 0.5) }))) ms | \(format(median(spread.map { percentile($0.committed, 0.99) }))) ms | \(format(median(spread.map { $0.committed.last ?? .nan }))) ms |")
    }
    if let creation = spreads["in creation order"] {
        let p99 = median(creation.map { percentile($0.committed, 0.99) })
        let arrivals = Double(runCount) / Double(spreadSeconds)
        // Steps arriving faster than even the bare writes can go make a backlog no scheduler avoids.
        let reachable = floors.isEmpty || floor >= arrivals ? "" : " (beyond this machine: steps arrive at \(format(arrivals))/s, the write floor is \(format(floor))/s)"
        verdicts.append("| due steps start within 1 s of due time, p99 (\(format(Double(runCount))) pending, due in creation order, committed) | \(format(p99)) ms\(reachable) | \(p99 <= 1000 ? "MET" : "NOT MET") |")
    }
    if let random = spreads["in random order"] {
        let p99Random = median(random.map { percentile($0.committed, 0.99) })
        verdicts.append("| same, due in random order (worst case) | \(format(p99Random)) ms | \(p99Random <= 1000 ? "MET" : "NOT MET") |")
    }
    if !spreadOnly {
        verdicts.append("| worker fires ≥ 5,000 inbox sends/s | \(format(rate)) sends/s | \(rate >= 5000 ? "MET" : "NOT MET") |")
    }
}

print("")
if !report.isEmpty {
    print("Ingest (in process, GroupCommitWriter) with the engine running beside it, \(format(ingestSeconds)) s per run, medians of \(repetitions):")
    print("| load | mappings | ingest events/s | engine events/s | max lag | p99 lag | lag at end | drain | runs created |")
    print("|---|---|---|---|---|---|---|---|---|")
    report.forEach { print($0) }
    print("")
}
if !runsReport.isEmpty {
    print("Runs (inbox sends), medians of \(repetitions):")
    print("| scenario | throughput | lateness p50 | p99 | max |")
    print("|---|---|---|---|---|")
    runsReport.forEach { print($0) }
    print("")
}
print("| target | result | status |")
print("|---|---|---|")
verdicts.forEach { print($0) }

