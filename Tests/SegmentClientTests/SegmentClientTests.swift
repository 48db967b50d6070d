import Foundation
import HeraldTestSupport
import SegmentClient
import Synchronization
import Testing

/// Waits a client asked for, instead of sleeping them.
final class RecordedWaits: Sendable {
    private let waits = Mutex<[Duration]>([])
    var all: [Duration] { waits.withLock { $0 } }
    var sleep: @Sendable (Duration) async throws -> Void { { duration in self.waits.withLock { $0.append(duration) } } }
}

@Suite("SegmentClient: the Tracking API's request shape, limits and retries")
struct SegmentClientTests {
    func client(_ endpoint: String, waits: RecordedWaits = RecordedWaits(), configure: (inout SegmentClient.Configuration) -> Void = { _ in }) -> SegmentClient {
        var configuration = SegmentClient.Configuration(writeKey: "wk_test", endpoint: endpoint)
        configure(&configuration)
        return SegmentClient(configuration: configuration, sleep: waits.sleep)
    }

    @Test("a batch is POSTed to /v1/batch, gzipped, with Basic auth of the write key and the batch envelope")
    func requestShape() async throws {
        let receiver = TrackingAPIReceiver()
        let results = try await receiver.run { endpoint in
            await client(endpoint + "/").send([
                .track("Order Completed", identity: .user("u1"), properties: ["revenue": 42.5, "items": 3], messageId: "m-1"),
                .identify(.anonymous("a1"), traits: ["email": "a@example.com"]),
            ])
        }
        #expect(results.map(\.outcome) == [.accepted(attempts: 1)])
        let request = try #require(receiver.received.first)
        #expect(receiver.received.count == 1)
        #expect(request.path == "/v1/batch")
        #expect(request.authorization == "Basic " + Data("wk_test:".utf8).base64EncodedString())
        #expect(request.contentType == "application/json")
        #expect(request.contentEncoding == "gzip")
        #expect(request.userAgent == "herald/\(SegmentLibrary.heraldVersion)")
        let sentAt = try #require(request.body["sentAt"] as? String)
        #expect(sentAt.hasSuffix("Z") && sentAt.contains("."))
        let batch = request.batch
        #expect(batch.count == 2)
        #expect(batch[0]["type"] as? String == "track")
        #expect(batch[0]["event"] as? String == "Order Completed")
        #expect(batch[0]["userId"] as? String == "u1")
        #expect(batch[0]["messageId"] as? String == "m-1")
        #expect((batch[0]["properties"] as? [String: Any])?["revenue"] as? Double == 42.5)
        #expect((batch[0]["properties"] as? [String: Any])?["items"] as? Int == 3)
        let library = (batch[0]["context"] as? [String: Any])?["library"] as? [String: Any]
        #expect(library?["name"] as? String == "herald")
        #expect(library?["version"] as? String == SegmentLibrary.heraldVersion)
        #expect(batch[0]["timestamp"] is String)
        #expect(batch[1]["type"] as? String == "identify")
        #expect(batch[1]["anonymousId"] as? String == "a1")
        #expect(batch[1]["userId"] == nil)
        #expect((batch[1]["traits"] as? [String: Any])?["email"] as? String == "a@example.com")
        #expect(!(batch[1]["messageId"] as? String ?? "").isEmpty)
    }

    @Test("each call of the Tracking API carries its own fields")
    func everyCallType() async throws {
        let receiver = TrackingAPIReceiver()
        let results = try await receiver.run { endpoint in
            let segment = client(endpoint) { $0.compress = false }
            return [
                await segment.identify(.user("u1"), traits: ["plan": "pro"]),
                await segment.track("Signed Up", identity: .both(userId: "u1", anonymousId: "a1")),
                await segment.page("Pricing", identity: .user("u1"), properties: ["path": "/pricing"]),
                await segment.screen("Home", identity: .user("u1")),
                await segment.group("acme", identity: .user("u1"), traits: ["name": "Acme"]),
                await segment.alias(userId: "u1", previousId: "a1"),
            ]
        }
        #expect(results.allSatisfy { $0.outcome == .accepted(attempts: 1) })
        let calls = receiver.received.flatMap(\.batch)
        #expect(receiver.received.allSatisfy { $0.contentEncoding == nil })
        #expect(calls.map { $0["type"] as? String } == ["identify", "track", "page", "screen", "group", "alias"])
        #expect((calls[0]["traits"] as? [String: Any])?["plan"] as? String == "pro")
        #expect(calls[1]["anonymousId"] as? String == "a1")
        #expect(calls[2]["name"] as? String == "Pricing")
        #expect(calls[3]["name"] as? String == "Home")
        #expect(calls[4]["groupId"] as? String == "acme")
        #expect(calls[5]["previousId"] as? String == "a1")
        #expect(Set(calls.compactMap { $0["messageId"] as? String }).count == 6)
    }

    @Test("batches stay within 500 KB per request; a call over 32 KB is refused without a request")
    func limits() async throws {
        let receiver = TrackingAPIReceiver()
        let filler = String(repeating: "x", count: 20_000)
        let messages = (0..<60).map { SegmentMessage.track("Big", identity: .user("u\($0)"), properties: ["filler": .string(filler)]) }
        let tooLarge = SegmentMessage.track("Huge", identity: .user("u"), properties: ["filler": .string(String(repeating: "y", count: 33 * 1024))])
        let results = try await receiver.run { endpoint in await client(endpoint).send(messages + [tooLarge]) }
        let refused = results.filter { if case .rejected(nil, _) = $0.outcome { true } else { false } }
        #expect(refused.map(\.messageIds) == [[tooLarge.messageId]])
        #expect(results.count == 1 + receiver.received.count)
        #expect(receiver.received.count >= 3)
        #expect(receiver.received.flatMap(\.messageIds) == messages.map(\.messageId))
        for request in receiver.received {
            let json = try JSONSerialization.data(withJSONObject: request.body)
            #expect(json.count <= 500 * 1024)
        }
    }

    @Test("500, then 429 with Retry-After, then 200: retried under the same messageIds, waiting what Segment asked")
    func retriesTransientFailures() async throws {
        let receiver = TrackingAPIReceiver(answers: [.init(status: 500), .init(status: 429, retryAfter: "3")])
        let waits = RecordedWaits()
        let message = SegmentMessage.track("Retried", identity: .user("u1"))
        let result = try await receiver.run { endpoint in await client(endpoint, waits: waits).send(message) }
        #expect(result.outcome == .accepted(attempts: 3))
        #expect(receiver.received.map(\.messageIds) == [[message.messageId], [message.messageId], [message.messageId]])
        #expect(waits.all.count == 2)
        #expect(waits.all[0] > .zero && waits.all[0] <= .milliseconds(200))
        #expect(waits.all[1] == .seconds(3))
    }

    @Test("a 400 is not retried")
    func badRequestIsFinal() async throws {
        let receiver = TrackingAPIReceiver(answers: [.init(status: 400)])
        let waits = RecordedWaits()
        let result = try await receiver.run { endpoint in await client(endpoint, waits: waits).track("Refused", identity: .user("u1")) }
        guard case .rejected(let status, let reason) = result.outcome else {
            Issue.record("expected a rejection, got \(result.outcome)")
            return
        }
        #expect(status == 400)
        #expect(reason.contains("scripted 400"))
        #expect(receiver.received.count == 1)
        #expect(waits.all.isEmpty)
    }

    @Test("5xx until the attempts run out: failed, with growing waits between attempts")
    func givesUpAfterMaximumAttempts() async throws {
        let receiver = TrackingAPIReceiver(answers: Array(repeating: .init(status: 503), count: 10))
        let waits = RecordedWaits()
        let result = try await receiver.run { endpoint in
            await client(endpoint, waits: waits) { $0.retry = SegmentRetryPolicy(maximumAttempts: 4, initialBackoff: .seconds(1)) }
                .track("Down", identity: .user("u1"))
        }
        guard case .failed(_, nil) = result.outcome else {
            Issue.record("expected failed, got \(result.outcome)")
            return
        }
        #expect(receiver.received.count == 4)
        #expect(waits.all.count == 3)
        #expect(waits.all[0] >= .milliseconds(500) && waits.all[0] <= .seconds(1))
        #expect(waits.all[2] >= .seconds(2) && waits.all[2] <= .seconds(4))
    }

    @Test("a Retry-After longer than the policy waits ends the attempts and says when to come back")
    func longRetryAfter() async throws {
        let receiver = TrackingAPIReceiver(answers: [.init(status: 429, retryAfter: "600")])
        let result = try await receiver.run { endpoint in await client(endpoint).track("Later", identity: .user("u1")) }
        guard case .failed(_, let retryAfter) = result.outcome else {
            Issue.record("expected failed, got \(result.outcome)")
            return
        }
        #expect(retryAfter == .seconds(600))
        #expect(receiver.received.count == 1)
    }

    @Test("no server listening: network errors are retried, then failed")
    func networkErrors() async throws {
        // A port that was just free: nothing listens on it.
        let endpoint = try await TrackingAPIReceiver().run { $0 }
        let waits = RecordedWaits()
        let result = await client(endpoint, waits: waits) {
            $0.retry = SegmentRetryPolicy(maximumAttempts: 3)
            $0.timeout = .seconds(1)  // AsyncHTTPClient keeps trying to connect until the request's deadline
        }.track("Nobody", identity: .user("u1"))
        guard case .failed(let reason, nil) = result.outcome else {
            Issue.record("expected failed, got \(result.outcome)")
            return
        }
        #expect(reason.contains("no answer"))
        #expect(waits.all.count == 2)
    }

    @Test("Retry-After in seconds or as an HTTP date; backoff doubles up to its cap")
    func retryArithmetic() {
        #expect(SegmentRetryPolicy.retryAfter("7") == .seconds(7))
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(SegmentRetryPolicy.retryAfter("Tue, 14 Nov 2023 22:13:40 GMT", now: now) == .seconds(20))
        #expect(SegmentRetryPolicy.retryAfter("soon") == nil)
        let policy = SegmentRetryPolicy(initialBackoff: .seconds(1), maximumBackoff: .seconds(10))
        #expect(policy.backoff(afterAttempt: 1, jitter: 1) == .seconds(1))
        #expect(policy.backoff(afterAttempt: 3, jitter: 1) == .seconds(4))
        #expect(policy.backoff(afterAttempt: 3, jitter: 0.5) == .seconds(2))
        #expect(policy.backoff(afterAttempt: 20, jitter: 1) == .seconds(10))
        #expect(SegmentRetryPolicy.isRetryable(status: 429) && SegmentRetryPolicy.isRetryable(status: 502))
        #expect(!SegmentRetryPolicy.isRetryable(status: 400) && !SegmentRetryPolicy.isRetryable(status: 401))
    }

    @Test("calls from JSON text: checked, sent as written")
    func callsFromJSON() throws {
        let call = try SegmentMessage(json: #"{"type":"track","event":"E","userId":"u","messageId":"m-9","big":12345678901234567890}"#)
        #expect(call.messageId == "m-9")
        #expect(call.json.contains("12345678901234567890"))
        #expect(throws: SegmentMessage.InvalidMessage.self) { try SegmentMessage(json: #"{"type":"track","event":"E","userId":"u"}"#) }
        #expect(throws: SegmentMessage.InvalidMessage.self) { try SegmentMessage(json: #"{"type":"track","userId":"u","messageId":"m"}"#) }
        #expect(throws: SegmentMessage.InvalidMessage.self) { try SegmentMessage(json: #"{"type":"launch","userId":"u","messageId":"m"}"#) }
        #expect(throws: SegmentMessage.InvalidMessage.self) { try SegmentMessage(json: #"{"type":"identify","messageId":"m"}"#) }
        #expect(throws: SegmentMessage.InvalidMessage.self) { try SegmentMessage(json: "[1]") }
    }

    @Test("endpoints: US by default, EU and any compatible server by URL")
    func endpoints() {
        #expect(SegmentClient.Configuration(writeKey: "k").batchURL == "https://api.segment.io/v1/batch")
        #expect(SegmentClient.Configuration(writeKey: "k", endpoint: SegmentClient.euEndpoint).batchURL == "https://events.eu1.segmentapis.com/v1/batch")
        #expect(SegmentClient.Configuration(writeKey: "k", endpoint: "http://herald.lan:8080/").batchURL == "http://herald.lan:8080/v1/batch")
    }

    @Test("values keep integers and doubles apart and escape strings")
    func values() {
        let value: SegmentValue = ["n": 3, "d": 2.0, "s": "a\"b\n", "x": nil, "l": [true, 1.5]]
        #expect(value.jsonText == #"{"d":2.0,"l":[true,1.5],"n":3,"s":"a\"b\n","x":null}"#)
    }
}
