import AsyncHTTPClient
import AutomationEngine
import DestinationServer
import Foundation
import GRDB
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// The delivery service through the real server and real receivers on loopback: concurrent,
/// isolated per endpoint, guarded by circuit breakers, exactly one `sent` per message.
@Suite("Delivery: concurrent, isolated per endpoint, breakers, nothing lost or doubled", .serialized)
struct DeliveryPipelineTests {
    /// One automation per channel: `track/To <channel>` sends a message on it.
    static func configuration(_ channels: [(name: String, port: Int, extra: String)]) -> String {
        var yaml = "channels:\n"
        for channel in channels {
            yaml += "  \(channel.name): { type: webhook, url: \"http://127.0.0.1:\(channel.port)/hook\"\(channel.extra) }\n"
        }
        yaml += "templates:\n"
        for channel in channels { yaml += "  t-\(channel.name): { channel: \(channel.name), body: \"n={{data.n}}\" }\n" }
        yaml += "automations:\n"
        for channel in channels { yaml += "  a-\(channel.name): { steps: [ { send: t-\(channel.name) } ] }\n" }
        yaml += "mappings:\n"
        for channel in channels { yaml += "  - on: track/To \(channel.name)\n    run: a-\(channel.name)\n" }
        return yaml
    }

    static func events(to channel: String, count: Int, from start: Int = 0) -> [String] {
        (start..<start + count).map { ManagementPayloads.track("To \(channel)", user: "u-\($0 % 7)", id: "\(channel)-\($0)", properties: #"{"n":\#($0)}"#) }
    }

    static func allowLoopback(_ configuration: inout ServerConfiguration) {
        configuration.outboundDestinations = try! OutboundDestinationPolicy(allowing: ["127.0.0.1"])
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    static func eventually(_ seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    static func statuses(_ store: HeraldStore) async throws -> [MessageStatus: Int] {
        var counts: [MessageStatus: Int] = [:]
        for message in try await store.messages(workspace: "default") { counts[message.status, default: 0] += 1 }
        return counts
    }

    @Test("a receiver answering in 20 ms gets several requests at once, never more than the channel's concurrency")
    func concurrentDelivery() async throws {
        let receiver = DeliveryReceiver(delay: .milliseconds(20))
        try await receiver.run { port in
            try await LiveHerald.run(configure: Self.allowLoopback) { herald in
                try await herald.applyConfiguration(Self.configuration([("fast", port, ", concurrency: 8")]))
                for chunk in Self.events(to: "fast", count: 120).chunked(40) { try await herald.ingestBatch(chunk) }
                let done = try await Self.eventually(30) { receiver.acceptedKeys.count == 120 }
                #expect(done, "\(receiver.acceptedKeys.count) of 120 arrived")
                #expect(receiver.maximumInFlight > 1, "deliveries were serial")
                #expect(receiver.maximumInFlight <= 8, "the channel allows 8 at once, \(receiver.maximumInFlight) were in flight")
                #expect(try await Self.eventually(5) { try await Self.statuses(herald.store) == [.sent: 120] })
                let metrics = try await herald.get("/metrics").body
                #expect(metrics.contains(#"herald_messages_total{channel="webhook",status="sent"} 120"#), "\(metrics.prefix(2_000))")
                #expect(metrics.contains("herald_delivery_duration_seconds"))
                #expect(metrics.contains(#"herald_runs_total{automation="a-fast",state="pending"} 120"#))
            }
        }
    }

    @Test("an endpoint that hangs holds only its own messages: a healthy one's all arrive, and events are still processed")
    func hangingEndpointIsIsolated() async throws {
        let hanging = DeliveryReceiver(hangs: true)
        let healthy = DeliveryReceiver(delay: .milliseconds(5))
        try await hanging.run { hangingPort in
            try await healthy.run { healthyPort in
                try await LiveHerald.run(configure: Self.allowLoopback) { herald in
                    try await herald.applyConfiguration(Self.configuration([
                        ("stuck", hangingPort, ", timeout: 30s, concurrency: 4"), ("fine", healthyPort, ""),
                    ]))
                    try await herald.ingestBatch(Self.events(to: "stuck", count: 40))
                    #expect(try await Self.eventually(10) { hanging.inFlight == 4 }, "the hanging endpoint holds its 4 requests")
                    for chunk in Self.events(to: "fine", count: 400).chunked(100) { try await herald.ingestBatch(chunk) }
                    // Polled inline: through the closure-taking `eventually` this wait was flaky (it
                    // missed a count that was already reached), and the reason was not found.
                    let waitStart = ContinuousClock.now
                    var arrived = healthy.acceptedKeys.count
                    while arrived < 400 && ContinuousClock.now - waitStart < .seconds(20) {
                        try await Task.sleep(for: .milliseconds(20))
                        arrived = healthy.acceptedKeys.count
                    }
                    #expect(arrived == 400, "\(arrived) of 400 arrived while the other endpoint hung")
                    #expect(hanging.inFlight == 4 && hanging.requests.isEmpty, "the hanging endpoint still holds its requests")
                    // Event processing goes on beside it.
                    try await herald.ingest(ManagementPayloads.identify(user: "late", id: "late-1", traits: #"{"plan":"pro"}"#))
                    try await herald.waitForEngine()
                    #expect(try await herald.store.profileTraits(workspace: "default", id: "late")?["plan"] == "pro")
                }
            }
        }
    }

    @Test("a failing endpoint opens its breaker after 5 failures, is left alone, then a probe closes it and everything is sent")
    func breakerOpensAndCloses() async throws {
        let receiver = DeliveryReceiver(answers: [500, 500, 500, 500, 500])
        try await receiver.run { port in
            try await LiveHerald.run(configure: Self.allowLoopback) { herald in
                try await herald.applyConfiguration(Self.configuration([("flaky", port, ", concurrency: 1")]))
                try await herald.ingestBatch(Self.events(to: "flaky", count: 4))
                let sent = try await Self.eventually(30) { try await Self.statuses(herald.store) == [.sent: 4] }
                let counts = try await Self.statuses(herald.store)
                #expect(sent, "\(counts)")
                let requests = receiver.requests
                #expect(requests.filter { $0.status == 500 }.count == 5, "not hammered: \(requests.map(\.status))")
                #expect(requests.filter { $0.status == 200 }.count == 4)
                // The breaker kept it alone for its cool-down: no request between the fifth failure and the probe.
                if let fifth = requests.firstIndex(where: { $0.status == 500 }).map({ _ in requests[4] }), requests.count > 5 {
                    #expect(requests[5].at - fifth.at >= .milliseconds(4_500), "probe came after \(requests[5].at - fifth.at)")
                }
                let message = try #require(try await herald.store.messages(workspace: "default").first { $0.history.count > 2 })
                #expect(message.history.first?.status == .queued)
                #expect(message.history.last?.status == .sent)
                #expect(message.history.dropFirst().first?.reason?.hasPrefix("attempt 1 failed: HTTP 500; next attempt at") == true)
            }
        }
    }

    @Test("kill -9 during a burst of concurrent deliveries: after a restart every message is sent once per Idempotency-Key, none lost")
    func crashDuringBurst() async throws {
        let receiver = DeliveryReceiver(delay: .milliseconds(30))
        try await receiver.run { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-burst-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = directory.appendingPathComponent("herald.sqlite").path
            let config = directory.appendingPathComponent("herald.yaml")
            try Self.configuration([("burst", port, ", timeout: 2s, concurrency: 16")]).write(to: config, atomically: true, encoding: .utf8)
            let arguments = ["--config", config.path, "--allow-destination", "127.0.0.1", "--delivery-lease", "3s"]
            var server = try HeraldProcess(database: database, extraArguments: arguments)
            let key = try #require(server.output.split(separator: "\n").first { $0.contains("ingest ") }?.split(separator: " ").last.map(String.init))
            let count = 300
            for chunk in Self.events(to: "burst", count: count).chunked(100) {
                let reply = try await LiveHerald.post(port: server.port, path: "/inbound/segment", body: "[\(chunk.joined(separator: ","))]", key: key)
                #expect(reply == 200)
            }
            #expect(try await Self.eventually(20) { receiver.requests.count >= 40 }, "deliveries started")
            server.killHard()
            let before = receiver.acceptedKeys.count
            #expect(before < count, "the burst was still going when the server was killed (\(before) of \(count))")
            server = try HeraldProcess(database: database, extraArguments: arguments)
            defer { _ = server.terminate() }
            let queue = try DatabaseQueue(path: database)
            let allSent = try await Self.eventually(40) {
                try await queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM message WHERE status = 'sent'") } == count
            }
            #expect(allSent)
            #expect(receiver.acceptedKeys.count == count, "every message reached the receiver")
            let perKey = Dictionary(grouping: receiver.requests, by: \.idempotencyKey)
            #expect(perKey.count == count, "no request without its message's key")
            let sentTwice = try await queue.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT messageId FROM messageStatus WHERE status = 'sent' GROUP BY messageId HAVING COUNT(*) > 1)")
            }
            #expect(sentTwice == 0, "a message was recorded sent twice")
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

extension LiveHerald {
    /// Sends events as one Webhooks (Actions) batch, expecting them stored.
    func ingestBatch(_ events: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reply = try await post("/inbound/segment", "[\(events.joined(separator: ","))]", auth: .basic(ingestKey))
        #expect(reply.status == 200, "\(reply.body)", sourceLocation: sourceLocation)
    }

    /// POSTs `body` to a server that is not a LiveHerald (a child process); returns the status.
    static func post(port: Int, path: String, body: String, key: String) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):".utf8).base64EncodedString())
        request.body = .bytes(ByteBuffer(string: body))
        return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code)
    }
}
