import AutomationEngine
import Crypto
import Foundation
import HTTPTypes
import HeraldTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import SegmentSpec
import Synchronization
import Testing

/// A real webhook receiver on a loopback port that answers with the scripted statuses and
/// remembers what it was sent.
final class WebhookReceiver: Sendable {
    struct Delivery: Sendable {
        let idempotencyKey: String?
        /// The request's `Host`.
        let authority: String?
        let signature: String?
        let body: [UInt8]
    }

    private let state: Mutex<(script: [Int], deliveries: [Delivery])>
    private let host: String
    private let location: String?
    private let delay: Duration

    /// - Parameters:
    ///   - host: the loopback address it listens on, `127.0.0.1` or `::1`.
    ///   - location: the `Location` header of its 3xx answers.
    ///   - delay: how long it takes to answer.
    init(answers: [Int], host: String = "127.0.0.1", location: String? = nil, delay: Duration = .zero) {
        state = Mutex((answers, []))
        self.host = host
        self.location = location
        self.delay = delay
    }

    var deliveries: [Delivery] { state.withLock { $0.deliveries } }

    func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            let bytes = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let status = self.state.withLock { state -> Int in
                state.deliveries.append(Delivery(
                    idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!], authority: request.head.authority,
                    signature: request.headers[HTTPField.Name("Herald-Signature")!], body: bytes))
                return state.script.count > 1 ? state.script.removeFirst() : (state.script.first ?? 200)
            }
            if self.delay > .zero { try await Task.sleep(for: self.delay) }
            var headers = HTTPFields()
            if let location = self.location, (300..<400).contains(status) { headers[.location] = location }
            return Response(status: .init(code: status), headers: headers)
        }
        // Run directly, not with `app.test(.live)`, which binds `localhost` whatever the address;
        // it is stopped by cancellation, which Hummingbird logs as errors.
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname(host, port: 0)),
            onServerRunning: { channel in bound.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        let server = Task { try await app.runService() }
        do {
            var iterator = ports.makeAsyncIterator()
            let value = try await body(try #require(await iterator.next()))
            server.cancel()
            _ = await server.result
            return value
        } catch {
            server.cancel()
            _ = await server.result
            throw error
        }
    }
}

@Suite("Webhook delivery: signed, idempotent, retried on 5xx, given up on 4xx", .serialized)
struct WebhookDeliveryTests {
    static func configuration(port: Int) -> String {
        """
        channels:
          hook: { type: webhook, url: "http://127.0.0.1:\(port)/hook", secret: "topsecret", timeout: 5s }
        templates:
          ping: { channel: hook, subject: "Ping {{data.n}}", body: "Hello {{profile.name}}" }
        automations:
          pinger: { steps: [ { send: ping } ] }
        mappings:
          - on: track/Ping
            run: pinger
        """
    }

    /// Sends one `track/Ping` through ingest, the engine and the run worker; returns the store and deliverer.
    static func prepare(port: Int, clock: TestClock) async throws -> (HeraldStore, DeliveryService) {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        try await store.applyConfiguration(yaml: configuration(port: port), workspace: "default", secrets: .none)
        let writer = GroupCommitWriter(store: store)
        Task { try await writer.run() }
        let json = #"{"type":"track","event":"Ping","userId":"u-1","properties":{"n":7}}"#
        let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
        _ = try await writer.append([IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: clock.now)], keyHash: key.secret.hash)
        writer.close()
        try await EventProcessor(store: store, now: { clock.now }).processPending()
        try await RunWorker(store: store, now: { clock.now }).executeDue()
        let channels = ChannelDirectory { channel in
            guard case .webhook(let url, let secret, let timeout) = channel.kind else { return nil }
            return WebhookChannel(url: url, secret: secret, timeout: .seconds(timeout), outbound: outbound, now: { clock.now })
        }
        return (store, DeliveryService(store: store, channels: channels, now: { clock.now }))
    }

    /// The outbound client of this suite's deliverers, which allows the receivers on
    /// 127.0.0.1. Like `HTTPClient.shared` it lives as long as the test process, so it is
    /// never shut down (AsyncHTTPClient requires that only of clients that are freed).
    static let outbound = OutboundHTTPClient(policy: try! OutboundDestinationPolicy(allowing: ["127.0.0.1"]))

    @Test("500 then 200: delivered, both attempts with one Idempotency-Key, signature verifies with the secret")
    func retryThenDelivered() async throws {
        let receiver = WebhookReceiver(answers: [500, 200])
        try await receiver.run { port in
            let clock = TestClock(start: Timestamp(millisecondsSince1970: 1_795_000_000_000))
            let (store, deliverer) = try await Self.prepare(port: port, clock: clock)
            #expect(try await deliverer.deliverDue() == 1)
            #expect(try await store.messages(workspace: "default").first?.status == .queued)
            #expect(try await deliverer.deliverDue() == 0)  // backoff: not due yet
            clock.advance(.seconds(2))
            #expect(try await deliverer.deliverDue() == 1)
            let message = try #require(try await store.messages(workspace: "default").first)
            #expect(message.status == .sent)
            #expect(message.history.map(\.status) == [.queued, .queued, .sent])
            #expect(message.history[1].reason?.hasPrefix("attempt 1 failed: HTTP 500; next attempt at") == true)
            let deliveries = receiver.deliveries
            #expect(deliveries.count == 2)
            #expect(Set(deliveries.map(\.idempotencyKey)) == [message.id])
            for delivery in deliveries {
                let signature = try #require(delivery.signature)
                let parts = Dictionary(uniqueKeysWithValues: signature.split(separator: ",").map { part in
                    let pair = part.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), String(pair[1]))
                })
                let t = try #require(parts["t"])
                let mac = HMAC<SHA256>.authenticationCode(for: Array("\(t).".utf8) + delivery.body, using: SymmetricKey(data: Data("topsecret".utf8)))
                #expect(parts["v1"] == mac.map { String(format: "%02x", $0) }.joined())
            }
            let body = try JSONParser.parse(deliveries[0].body)
            #expect(body["subject"] == "Ping 7")
            #expect(body["recipient"]?["id"] == "u-1")
        }
    }

    @Test("a 400 is undeliverable at once, without retries")
    func clientErrorIsFinal() async throws {
        let receiver = WebhookReceiver(answers: [400])
        try await receiver.run { port in
            let clock = TestClock(start: Timestamp(millisecondsSince1970: 1_795_000_000_000))
            let (store, deliverer) = try await Self.prepare(port: port, clock: clock)
            #expect(try await deliverer.deliverDue() == 1)
            clock.advance(.seconds(3600))
            #expect(try await deliverer.deliverDue() == 0)
            let message = try #require(try await store.messages(workspace: "default").first)
            #expect(message.status == .undeliverable)
            #expect(message.history.last?.reason == "HTTP 400: the receiver refused it")
            #expect(receiver.deliveries.count == 1)
        }
    }
}
