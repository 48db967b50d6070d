// Benchmark of email delivery on a real SQLite file (WAL, synchronous=FULL), in process, to a
// real SMTP server on loopback that accepts every message at once (Debian's aiosmtpd through
// scripts/smtp-test-server.py --discard, its own process). Run with `make bench-smtp` (release
// build; part of `make bench`).
//
// Each round queues N email messages through the engine (events -> runs -> `queued`; not
// timed), then starts the DeliveryService and measures the time until all N are `sent`.
// Scenarios, alternating each round:
//   one connection   the channel at `concurrency: 1`: one signed-in session, reused;
//   reused sessions  `concurrency: 16` (the default): up to 16 sessions, each reused;
//   no reuse         16 in flight, but every message on a new connection (the pool's idle
//                    limit at zero): what connection reuse saves.
// Plain SMTP (`tls: none`): the figure is the client's and the server's, not TLS handshakes'.
//
// Environment: SMTP_BENCH_MESSAGES (2000), SMTP_BENCH_REPS (3).
import AutomationEngine
import Foundation
import HeraldTestSupport
import Logging
import SegmentSpec

let environment = ProcessInfo.processInfo.environment
let messageCount = Int(environment["SMTP_BENCH_MESSAGES"] ?? "") ?? 2_000
let repetitions = Int(environment["SMTP_BENCH_REPS"] ?? "") ?? 3

enum BenchmarkError: Error {
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
    let concurrency: Int
    let reuse: Bool
}

/// Queues `messageCount` emails through the engine, then times the delivery service until all are sent.
func measure(_ scenario: Scenario, server: SMTPTestServer, logger: Logger) async throws -> Double {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-smtp-bench-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
    let key = try await store.createKey(workspace: "bench", scope: .ingest)
    try await store.applyConfiguration(yaml: """
        channels:
          email: { type: smtp, host: 127.0.0.1, port: \(server.port), tls: none, from: "Bench <bench@herald.test>", concurrency: \(scenario.concurrency) }
        templates:
          mail: { channel: email, subject: "Order {{data.n}} – confirmed ✓", body: "Thanks for order {{data.n}}.", html: "<p>Thanks for order <b>{{data.n}}</b>.</p>" }
        automations:
          mail: { steps: [ { send: mail } ] }
        mappings:
          - on: track/Order Completed
            run: mail
        """, workspace: "bench", secrets: .none)
    let writer = GroupCommitWriter(store: store)
    let writerTask = Task { try await writer.run() }
    var batch: [IngestEvent] = []
    for index in 0..<500 {  // the recipients, with their addresses
        let json = #"{"type":"identify","userId":"user-\#(index)","messageId":"id-\#(index)","traits":{"email":"user-\#(index)@example.com"}}"#
        batch.append(IngestEvent(event: try SegmentEvent(validating: JSONParser.parse(json).objectValue!), raw: Array(json.utf8), workspaceId: "bench", receivedAt: Timestamp(Date())))
    }
    _ = try await writer.append(batch, keyHash: key.secret.hash)
    batch = []
    for index in 0..<messageCount {
        let json = #"{"type":"track","event":"Order Completed","userId":"user-\#(index % 500)","messageId":"order-\#(index)","properties":{"n":\#(index)}}"#
        batch.append(IngestEvent(event: try SegmentEvent(validating: JSONParser.parse(json).objectValue!), raw: Array(json.utf8), workspaceId: "bench", receivedAt: Timestamp(Date())))
        if batch.count == 500 {
            _ = try await writer.append(batch, keyHash: key.secret.hash)
            batch = []
        }
    }
    if !batch.isEmpty { _ = try await writer.append(batch, keyHash: key.secret.hash) }
    writer.close()
    _ = try await writerTask.value
    let processor = EventProcessor(store: store)
    while try await processor.processPending(limit: 2_000) > 0 {}
    let worker = RunWorker(store: store, logger: logger)
    while try await worker.executeDue(limit: 10_000) > 0 {}

    let policy = try OutboundDestinationPolicy(allowing: ["127.0.0.1"])
    let transport = SMTPTransport(policy: policy, idleLimit: scenario.reuse ? .seconds(30) : .zero, logger: logger)
    let outbound = OutboundHTTPClient(policy: policy, logger: logger)
    let service = DeliveryService(store: store, channels: .standard(outbound: outbound, smtp: transport), logger: logger)
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
    transport.closeAll()
    await outbound.shutdown()
    return Double(messageCount) / elapsed
}

var logger = Logger(label: "herald.bench")
logger.logLevel = .critical
let server = try SMTPTestServer(tls: false, user: nil, password: nil, discard: true)
defer { server.stop() }
let scenarios = [
    Scenario(name: "one connection, reused (concurrency 1)", concurrency: 1, reuse: true),
    Scenario(name: "up to 16 connections, reused (default concurrency)", concurrency: 16, reuse: true),
    Scenario(name: "16 in flight, a new connection per message", concurrency: 16, reuse: false),
]
var rates: [String: [Double]] = [:]
say("SMTP benchmark: \(messageCount) emails per round (multipart text + HTML) to aiosmtpd on loopback accepting at once, \(repetitions) rounds")
for round in 0..<repetitions {
    for scenario in (round % 2 == 0 ? scenarios : scenarios.reversed()) {
        let rate = try await measure(scenario, server: server, logger: logger)
        rates[scenario.name, default: []].append(rate)
        say("  round \(round + 1): \(scenario.name): \(Int(rate)) emails/s")
    }
}
say("")
say("| scenario | emails/s (median of \(repetitions)) |")
say("|---|---|")
for scenario in scenarios {
    say("| \(scenario.name) | \(Int(median(rates[scenario.name] ?? []))) |")
}
