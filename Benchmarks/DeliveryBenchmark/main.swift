// Benchmark of webhook delivery on a real SQLite file (WAL, synchronous=FULL), in process,
// to real receivers on loopback (Benchmarks/SlowReceiver, a separate process answering in
// 20 ms). Run with `make bench-delivery` (release build; part of `make bench`).
//
// For each round: N messages are queued by the engine (events -> runs -> `queued` webhook
// messages; not timed), then the DeliveryService starts and the time until all N are `sent`
// is measured. Scenarios, alternating each round:
//   serial      the service with one delivery in flight: the baseline in the same run
//               (what the old deliverer, one POST at a time, could do);
//   concurrent  the defaults, the channel at `concurrency: 64`;
//   + hanging   the same, with messages to an endpoint that never answers queued first.
//
// Environment: DELIVERY_BENCH_MESSAGES (4000), DELIVERY_BENCH_REPS (3), DELIVERY_BENCH_DELAY_MS (20),
// DELIVERY_BENCH_HANGING (40: messages queued to the hanging endpoint first).
import AutomationEngine
import Foundation
import Logging
import SegmentSpec

let environment = ProcessInfo.processInfo.environment
let messageCount = Int(environment["DELIVERY_BENCH_MESSAGES"] ?? "") ?? 4_000
let repetitions = Int(environment["DELIVERY_BENCH_REPS"] ?? "") ?? 3
let receiverDelay = Int(environment["DELIVERY_BENCH_DELAY_MS"] ?? "") ?? 20
let hangingCount = Int(environment["DELIVERY_BENCH_HANGING"] ?? "") ?? 40

/// A SlowReceiver process, stopped by `stop()`.
final class Receiver: Sendable {
    let process: Process
    let port: Int

    init(arguments: [String]) throws {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("SlowReceiver")
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var line = ""
        while !line.hasSuffix("\n") {
            let byte = pipe.fileHandleForReading.readData(ofLength: 1)
            guard !byte.isEmpty else { break }
            line += String(decoding: byte, as: UTF8.self)
        }
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").last ?? "") else {
            throw BenchmarkError.receiverDidNotStart(line)
        }
        self.port = port
    }

    /// SIGKILL: a hanging receiver's graceful shutdown would wait for its held requests.
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

enum BenchmarkError: Error {
    case receiverDidNotStart(String)
    case notAllSent(Int)
}

/// Prints a line at once (stdout is block-buffered when piped).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

struct Scenario {
    let name: String
    let maximumInFlight: Int
    let withHanging: Bool
    /// Messages per round: the serial baseline is slow, a tenth of them give its rate.
    let messages: Int
}

/// Queues `count` messages to the healthy channel (and `hangingCount` to the hanging one first when asked)
/// through the engine, then times the delivery service until the healthy ones are all sent.
func measure(_ scenario: Scenario, healthy: Receiver, hanging: Receiver, logger: Logger) async throws -> Double {
    let messageCount = scenario.messages
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-delivery-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
    let key = try await store.createKey(workspace: "bench", scope: .ingest)
    try await store.applyConfiguration(yaml: """
        channels:
          mailer: { type: webhook, url: "http://127.0.0.1:\(healthy.port)/hook", timeout: 10s, concurrency: 64 }
          dead: { type: webhook, url: "http://127.0.0.1:\(hanging.port)/hook", timeout: 10s }
        templates:
          mail: { channel: mailer, subject: "Order {{data.n}}", body: "Thanks for order {{data.n}}." }
          lost: { channel: dead, body: "never answered" }
        automations:
          mail: { steps: [ { send: mail } ] }
          lost: { steps: [ { send: lost } ] }
        mappings:
          - on: track/Order Completed
            run: mail
          - on: track/Lost
            run: lost
        """, workspace: "bench", secrets: .none)
    let writer = GroupCommitWriter(store: store)
    let writerTask = Task { try await writer.run() }
    func append(_ name: String, count: Int) async throws {
        var batch: [IngestEvent] = []
        for index in 0..<count {
            let json = #"{"type":"track","event":"\#(name)","userId":"user-\#(index % 500)","messageId":"\#(name)-\#(index)","properties":{"n":\#(index)}}"#
            let event = try SegmentEvent(validating: JSONParser.parse(json).objectValue!)
            batch.append(IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "bench", receivedAt: Timestamp(Date())))
            if batch.count == 500 {
                _ = try await writer.append(batch, keyHash: key.secret.hash)
                batch = []
            }
        }
        if !batch.isEmpty { _ = try await writer.append(batch, keyHash: key.secret.hash) }
    }
    if scenario.withHanging { try await append("Lost", count: hangingCount) }
    try await append("Order Completed", count: messageCount)
    writer.close()
    _ = try await writerTask.value
    let processor = EventProcessor(store: store)
    while try await processor.processPending(limit: 2_000) > 0 {}
    let worker = RunWorker(store: store, logger: logger)
    while try await worker.executeDue(limit: 10_000) > 0 {}

    let outbound = OutboundHTTPClient(policy: try OutboundDestinationPolicy(allowing: ["127.0.0.1"]), logger: logger)
    var options = DeliveryService.Options()
    options.maximumInFlight = scenario.maximumInFlight
    let service = DeliveryService(store: store, channels: .standard(outbound: outbound), options: options, logger: logger)
    let start = ContinuousClock.now
    let task = Task { try await service.run() }
    var sent = 0
    while sent < messageCount {
        try await Task.sleep(for: .milliseconds(20))
        sent = try await store.messageCount(workspace: "bench", status: .sent)
        if ContinuousClock.now - start > .seconds(600) { throw BenchmarkError.notAllSent(sent) }
    }
    let elapsed = seconds(ContinuousClock.now - start)
    task.cancel()
    _ = try? await task.value
    try await outbound.shutdown()
    return Double(messageCount) / elapsed
}

var logger = Logger(label: "herald.bench")
logger.logLevel = .critical
let healthy = try Receiver(arguments: ["--delay-ms", "\(receiverDelay)"])
let hanging = try Receiver(arguments: ["--hang"])
defer {
    healthy.stop()
    hanging.stop()
}
let scenarios = [
    Scenario(name: "serial (1 in flight, same-run baseline)", maximumInFlight: 1, withHanging: false, messages: max(1, messageCount / 10)),
    Scenario(name: "concurrent (defaults, channel concurrency 64)", maximumInFlight: DeliveryService.Options().maximumInFlight, withHanging: false, messages: messageCount),
    Scenario(name: "concurrent, one endpoint hanging (\(hangingCount) messages)", maximumInFlight: DeliveryService.Options().maximumInFlight, withHanging: true, messages: messageCount),
]
var rates: [String: [Double]] = [:]
say("Delivery benchmark: \(messageCount) messages per round, receiver answers in \(receiverDelay) ms, \(repetitions) rounds")
for round in 0..<repetitions {
    for scenario in (round % 2 == 0 ? scenarios : scenarios.reversed()) {
        let rate = try await measure(scenario, healthy: healthy, hanging: hanging, logger: logger)
        rates[scenario.name, default: []].append(rate)
        say("  round \(round + 1): \(scenario.name): \(Int(rate)) deliveries/s")
    }
}
say("")
say("| scenario | deliveries/s (median of \(repetitions)) | vs serial |")
say("|---|---|---|")
let serial = median(rates[scenarios[0].name] ?? [])
for scenario in scenarios {
    let rate = median(rates[scenario.name] ?? [])
    say("| \(scenario.name) | \(Int(rate)) | \(String(format: "%.1f", rate / serial))x |")
}
let concurrent = median(rates[scenarios[1].name] ?? [])
let withHanging = median(rates[scenarios[2].name] ?? [])
say("")
say("With one endpoint hanging: \(String(format: "%.1f", withHanging / concurrent * 100))% of the rate without it (target: within 10%).")
