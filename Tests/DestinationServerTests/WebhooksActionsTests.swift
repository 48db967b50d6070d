import AutomationEngine
import Crypto
import Foundation
import HeraldTestSupport
import NIOHTTP1
import SegmentSpec
import Testing

/// Requests exactly as Segment's Webhooks (Actions) destination sends them
/// (segmentio/action-destinations, `destinations/webhook`): the body is `JSON.stringify(data)`
/// (compact, one event) or, in batch mode, `JSON.stringify(events.map(data))` (a bare array);
/// the method is the customer's choice of POST, PUT or PATCH; headers are the customer's own
/// (an `Authorization` header here); with a Shared Secret, `X-Signature` is the hex HMAC-SHA1 of
/// `JSON.stringify(data)`, which in batch mode is the first event's data only.
@Suite("Segment's Webhooks (Actions) destination, as it sends")
struct WebhooksActionsTests {
    /// `count` real events of the direct-tester corpus (cycled, fresh ids), each written
    /// compactly as `JSON.stringify` writes it.
    static func corpusEvents(_ count: Int, prefix: String) throws -> [String] {
        let corpus = try DirectTesterCorpus()
        var filler = PlaceholderFiller(prefix: prefix)
        return try (0..<count).map { index in
            let text = filler.fill(corpus.templates[index % corpus.templates.count].text)
            return try JSONParser.parse(text).encodedString()
        }
    }

    static func batchBody(_ events: [String]) -> String { "[" + events.joined(separator: ",") + "]" }

    static func signature(_ text: String, secret: String) -> String {
        HMAC<Insecure.SHA1>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    static func basic(_ key: String) -> (String, String) {
        ("Authorization", "Basic " + Data("\(key):".utf8).base64EncodedString())
    }

    @Test("one event by POST, PUT and PATCH with the customer's Authorization header")
    func singleEventEveryMethod() async throws {
        let events = try Self.corpusEvents(3, prefix: "single")
        try await LiveHerald.run { herald in
            for (method, event) in zip([HTTPMethod.POST, .PUT, .PATCH], events) {
                let reply = try await herald.request(method, "/inbound/segment", body: event, auth: .none, headers: [Self.basic(herald.ingestKey)])
                let summary = "\(method): \(reply.status) \(reply.body)"
                #expect(reply.status == 200, "\(summary)")
                #expect(reply.json?["accepted"] == 1, "\(summary)")
            }
            // A Bearer header (the Extensible Webhook's) is read the same way.
            let bearer = try await herald.request(.PUT, "/inbound/segment", body: try Self.corpusEvents(1, prefix: "bearer")[0], auth: .bearer(herald.ingestKey))
            #expect(bearer.status == 200)
            #expect(try await herald.store.eventCount(workspace: "default") == 4)
        }
    }

    @Test("batch mode: 1,000 real events in one array (PATCH), then 4,000 (the most Segment sends), all stored once")
    func batches() async throws {
        let thousand = Self.batchBody(try Self.corpusEvents(1000, prefix: "b1k"))
        let fourThousand = Self.batchBody(try Self.corpusEvents(4000, prefix: "b4k"))
        // Larger than the Tracking API's 500 KB: what Herald answered 400 to before.
        #expect(thousand.utf8.count > 1_000_000)
        try await LiveHerald.run { herald in
            let first = try await herald.request(.PATCH, "/inbound/segment", body: thousand, auth: .none, headers: [Self.basic(herald.ingestKey)])
            #expect(first.status == 200, "\(first.body.prefix(300))")
            #expect(first.json?["accepted"] == 1000)
            #expect(first.json?["rejected"]?.arrayValue?.isEmpty == true)
            let second = try await herald.request(.POST, "/inbound/segment", body: fourThousand, auth: .none, headers: [Self.basic(herald.ingestKey)])
            #expect(second.status == 200, "\(second.body.prefix(300))")
            #expect(second.json?["accepted"] == 4000)
            // Segment retries a batch that timed out: every event is a duplicate, none stored twice.
            let retry = try await herald.request(.POST, "/inbound/segment", body: fourThousand, auth: .none, headers: [Self.basic(herald.ingestKey)])
            #expect(retry.json?["duplicates"] == 4000)
            #expect(try await herald.store.eventCount(workspace: "default") == 5000)
            let counts = try await herald.store.messageIdCounts(workspace: "default")
            #expect(counts.count == 5000 && counts.values.allSatisfy { $0 == 1 })
        }
    }

    @Test("a batch keeps each event's bytes as sent and reports an invalid one by its index")
    func batchWithAnInvalidEvent() async throws {
        var corpus = try Self.corpusEvents(3, prefix: "mixed")
        corpus[1] = #"{"type":"track","userId":"u","messageId":"no-event-name"}"#
        let events = corpus
        try await LiveHerald.run { herald in
            let reply = try await herald.request(.POST, "/inbound/segment", body: Self.batchBody(events), auth: .bearer(herald.ingestKey))
            #expect(reply.status == 200)
            #expect(reply.json?["accepted"] == 2)
            let rejected = try #require(reply.json?["rejected"]?.arrayValue?.first)
            #expect(rejected["index"] == 1)
            #expect(rejected["messageId"] == "no-event-name")
            #expect(rejected["message"] == "track event requires `event`")
            let stored = try await herald.store.events(workspace: "default", matching: EventQuery(limit: 10))
            #expect(Set(stored.map(\.raw)) == Set([events[0], events[2]]))
        }
    }

    @Test("only what no Segment mode sends is refused, with a 400 naming the problem")
    func refusals() async throws {
        let event = try Self.corpusEvents(1, prefix: "limit")[0]
        try await LiveHerald.run { herald in
            let tooMany = Self.batchBody(Array(repeating: event, count: 4001))
            let count = try await herald.request(.POST, "/inbound/segment", body: tooMany, auth: .bearer(herald.ingestKey))
            #expect(count.status == 400)
            #expect(count.message == "batch has 4001 events; the limit is 4000")
            let truncated = try await herald.request(.POST, "/inbound/segment", body: "[" + event + ",", auth: .bearer(herald.ingestKey))
            #expect(truncated.status == 400)
            #expect(truncated.message?.hasPrefix("body is not valid JSON: the body ends in the middle of an array") == true)
            let big = #"{"type":"track","event":"A","userId":"u","properties":{"b":"\#(String(repeating: "x", count: 40 * 1024))"}}"#
            let oversized = try await herald.request(.POST, "/inbound/segment", body: Self.batchBody([event, big]), auth: .bearer(herald.ingestKey))
            #expect(oversized.status == 200)
            #expect(oversized.json?["rejected"]?.arrayValue?.first?["message"]?.stringValue?.contains("the limit is 32768 bytes (32 KB)") == true)
            let huge = String(repeating: " ", count: 25 * 1_048_576)
            let overCap = try await herald.request(.POST, "/inbound/segment", body: "[" + huge + "]", auth: .bearer(herald.ingestKey))
            #expect(overCap.status == 400)
            #expect(overCap.message == "request body is 26214402 bytes; the limit is 24 MB")
            #expect(try await herald.store.eventCount(workspace: "default") == 1)
        }
    }

    @Test("X-Signature with the workspace's Shared Secret authenticates without a key: one event, and a batch signed on its first event")
    func validSignature() async throws {
        let secret = "segment-shared-secret-1"
        let events = try Self.corpusEvents(5, prefix: "signed")
        try await LiveHerald.run { herald in
            try await herald.store.setSigningSecret(workspace: "default", WorkspaceSigningSecret(secret: secret, required: false))
            let single = try await herald.request(
                .POST, "/inbound/segment/default", body: events[0], auth: .none, headers: [("X-Signature", Self.signature(events[0], secret: secret))])
            #expect(single.status == 200, "\(single.body)")
            // Batch mode signs JSON.stringify(payload[0].data): the first event alone.
            let batch = Self.batchBody(Array(events[1...]))
            let batched = try await herald.request(
                .PUT, "/inbound/segment?workspace=default", body: batch, auth: .none, headers: [("X-Signature", Self.signature(events[1], secret: secret))])
            #expect(batched.status == 200, "\(batched.body)")
            #expect(batched.json?["accepted"] == 4)
            // A signature of the whole body is accepted too (the classic Webhooks destination).
            let whole = Self.batchBody(try Self.corpusEvents(2, prefix: "whole"))
            let classic = try await herald.request(
                .POST, "/inbound/segment/default", body: whole, auth: .none, headers: [("X-Signature", Self.signature(whole, secret: secret).uppercased())])
            #expect(classic.status == 200, "\(classic.body)")
            #expect(try await herald.store.eventCount(workspace: "default") == 7)
        }
    }

    @Test("a wrong or unusable X-Signature is a 401 and stores nothing, even beside a valid key")
    func wrongSignature() async throws {
        let secret = "segment-shared-secret-2"
        let event = try Self.corpusEvents(1, prefix: "wrong")[0]
        try await LiveHerald.run { herald in
            try await herald.store.setSigningSecret(workspace: "default", WorkspaceSigningSecret(secret: secret, required: false))
            let cases: [(path: String, headers: [(String, String)], message: String)] = [
                ("/inbound/segment/default", [("X-Signature", Self.signature(event, secret: "another-secret"))],
                 "X-Signature does not match this body signed with workspace default's signing secret (HMAC-SHA1, hex)"),
                ("/inbound/segment/default", [("X-Signature", Self.signature(event, secret: "another-secret")), Self.basic(herald.ingestKey)],
                 "X-Signature does not match this body signed with workspace default's signing secret (HMAC-SHA1, hex)"),
                ("/inbound/segment/default", [("X-Signature", "not-hex")], "X-Signature must be 40 hex digits (HMAC-SHA1 of the body)"),
                ("/inbound/segment", [("X-Signature", Self.signature(event, secret: secret))],
                 "X-Signature needs the workspace in the URL (/inbound/segment/<workspace> or ?workspace=<workspace>) to know which secret signs it"),
                ("/inbound/segment/staging", [("X-Signature", Self.signature(event, secret: secret))],
                 "workspace staging has no signing secret, so X-Signature cannot authenticate this request (herald workspaces signing-secret)"),
                ("/inbound/segment/staging", [Self.basic(herald.ingestKey)],
                 "this API key belongs to another workspace than staging, which the URL names"),
            ]
            for item in cases {
                let reply = try await herald.request(.POST, item.path, body: event, auth: .none, headers: item.headers)
                #expect(reply.status == 401, "\(item.path): \(reply.body)")
                #expect(reply.message == item.message)
                #expect(reply.header("WWW-Authenticate") == #"Basic realm="herald""#)
            }
            #expect(try await herald.store.eventCount(workspace: "default") == 0)
        }
    }

    @Test("a workspace that requires signatures refuses a request without one, even with a key")
    func missingRequiredSignature() async throws {
        let secret = "segment-shared-secret-3"
        let event = try Self.corpusEvents(1, prefix: "required")[0]
        try await LiveHerald.run { herald in
            try await herald.store.setSigningSecret(workspace: "default", WorkspaceSigningSecret(secret: secret, required: true))
            for path in ["/inbound/segment/default", "/inbound/segment"] {
                let reply = try await herald.request(.POST, path, body: event, auth: .none, headers: [Self.basic(herald.ingestKey)])
                #expect(reply.status == 401, "\(path)")
                #expect(reply.message == "workspace default requires requests signed with X-Signature (set the Shared Secret in Segment); this one has none")
            }
            let signed = try await herald.request(
                .POST, "/inbound/segment/default", body: event, auth: .none, headers: [("X-Signature", Self.signature(event, secret: secret))])
            #expect(signed.status == 200)
            #expect(try await herald.store.eventCount(workspace: "default") == 1)
        }
    }

    @Test("refused requests are listed for the admin: the key's prefix only, how often, when last")
    func failedAuthenticationVisible() async throws {
        let event = try Self.corpusEvents(1, prefix: "failed")[0]
        try await LiveHerald.run { herald in
            let mistyped = "hk_Mistyped0123456789abcdefghijklmnopqrstuv"
            for _ in 0..<3 {
                let reply = try await herald.request(.POST, "/inbound/segment", body: event, auth: .none, headers: [Self.basic(mistyped)])
                #expect(reply.status == 401)
            }
            let reply = try await herald.get("/api/auth-failures", auth: .bearer(herald.adminKey))
            #expect(reply.status == 200)
            let failure = try #require(reply.json?["failures"]?.arrayValue?.first)
            #expect(failure["credential"] == "hk_Mistyped…")
            #expect(failure["count"] == 3)
            #expect(failure["reason"] == "API key is unknown or revoked")
            #expect(failure["path"] == "/inbound/segment")
            #expect(failure["lastAt"]?.stringValue.flatMap(Timestamp.init(iso8601:)) != nil)
            #expect(!reply.body.contains(mistyped))
            // An ingest key cannot read them.
            #expect(try await herald.get("/api/auth-failures", auth: .bearer(herald.ingestKey)).status == 403)
        }
    }
}
