import AutomationEngine
import DestinationServer
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Herald as a Segment source: message events reach a Tracking API endpoint through the outbox", .serialized)
struct SegmentSourceTests {
    /// Polls `condition` every 50 ms for up to `seconds`.
    static func eventually(_ seconds: Int = 30, _ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<(seconds * 20) {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }

    /// The track calls a Herald stored, by name, as (userId, properties, messageId).
    static func messageEvents(in store: HeraldStore) async throws -> [(name: String, userId: String?, properties: JSONObject, messageId: String, raw: JSONValue)] {
        try await store.recentEvents(workspace: "default", limit: 100).reversed().compactMap { event in
            guard event.name.hasPrefix("track/Message ") else { return nil }
            let raw = try JSONParser.parse(event.raw)
            return (String(event.name.dropFirst("track/".count)), event.userId, raw["properties"]?.objectValue ?? JSONObject(), event.messageId, raw)
        }
    }

    @Test("a second Herald as the Segment endpoint: Message Sent, Message Undeliverable (a 400 webhook), Message Unroutable, with their properties")
    func secondHeraldReceives() async throws {
        try await LiveHerald.run { segment in
            let accepting = WebhookReceiver(answers: [200])
            let refusing = WebhookReceiver(answers: [400])
            try await accepting.run { okPort in
                try await refusing.run { badPort in
                    let source = try SourceHerald(yaml: """
                        segment:
                          write_key: "${HERALD_SECRET_DEFAULT_SEGMENT_WRITE_KEY}"
                          endpoint: "\(segment.baseURL)"
                        channels:
                          ok: { type: webhook, url: "http://127.0.0.1:\(okPort)/hook" }
                          bad: { type: webhook, url: "http://127.0.0.1:\(badPort)/hook" }
                        templates:
                          hello: { channel: ok, body: "hello" }
                          refused: { channel: bad, body: "refused" }
                          nowhere: { body: "no channel to go out on" }
                        automations:
                          say-hello: { steps: [ { send: hello } ] }
                          be-refused: { steps: [ { send: refused } ] }
                          go-nowhere: { steps: [ { send: nowhere } ] }
                        mappings:
                          - { on: track/Hello, run: say-hello }
                          - { on: track/Refuse, run: be-refused }
                          - { on: track/Nowhere, run: go-nowhere }
                        """, writeKey: segment.ingestKey)
                    defer { source.remove() }
                    let herald = try source.start()
                    let key = try SourceHerald.ingestKey(of: herald)
                    try await SourceHerald.track(herald, key: key, event: "Hello", user: "u-sent", messageId: "evt-hello")
                    try await SourceHerald.track(herald, key: key, event: "Refuse", user: "u-refused", messageId: "evt-refuse")
                    try await SourceHerald.track(herald, key: key, event: "Nowhere", user: "u-nowhere", messageId: "evt-nowhere")
                    let arrived = try await Self.eventually { try await Self.messageEvents(in: segment.store).count >= 3 }
                    #expect(arrived)
                    let events = try await Self.messageEvents(in: segment.store)
                    #expect(Set(events.map(\.name)) == ["Message Sent", "Message Undeliverable", "Message Unroutable"])
                    #expect(events.count == 3)

                    let sent = try #require(events.first { $0.name == "Message Sent" })
                    #expect(sent.userId == "u-sent")
                    #expect(sent.properties["automation"]?.stringValue == "say-hello")
                    #expect(sent.properties["template"]?.stringValue == "hello")
                    #expect(sent.properties["channel"]?.stringValue == "ok")
                    #expect(sent.properties["channel_type"]?.stringValue == "webhook")
                    #expect(sent.properties["event_message_id"]?.stringValue == "evt-hello")
                    #expect(sent.properties["message_id"]?.stringValue?.hasPrefix("run-") == true)
                    #expect(sent.properties["run_id"]?.numberValue != nil)
                    #expect(sent.raw["context"]?["library"]?["name"]?.stringValue == "herald")

                    let undeliverable = try #require(events.first { $0.name == "Message Undeliverable" })
                    #expect(undeliverable.userId == "u-refused")
                    #expect(undeliverable.properties["reason"]?.stringValue?.contains("400") == true)
                    let unroutable = try #require(events.first { $0.name == "Message Unroutable" })
                    #expect(unroutable.userId == "u-nowhere")
                    #expect(unroutable.properties["reason"]?.stringValue == "template `nowhere` names no channel")
                    #expect(accepting.deliveries.count == 1)
                    #expect(herald.terminate() == 0)
                    let store = try HeraldStore.open(path: source.database)
                    let counts = try await store.outboxCounts()
                    #expect(counts.pending == 0 && counts.rejected == 0)
                }
            }
        }
    }

    @Test("500, then 429 with Retry-After, then 200: sent again under one messageId; a 400 is not retried and the outbox goes on")
    func retriesAndRefusals() async throws {
        let receiver = TrackingAPIReceiver(answers: [.init(status: 500), .init(status: 429, retryAfter: "1"), .init(status: 200), .init(status: 400)])
        try await receiver.run { endpoint in
            try await LiveHerald.run(configure: { $0.outboundDestinations = try! OutboundDestinationPolicy(allowing: ["127.0.0.1"]) }) { herald in
                try await herald.applyConfiguration("""
                    segment: { write_key: wk_e2e, endpoint: "\(endpoint)" }
                    channels: { inbox: { type: inbox } }
                    templates: { hello: { channel: inbox, body: "hi" } }
                    automations: { greet: { steps: [ { send: hello } ] } }
                    mappings: [ { on: track/Greet, run: greet } ]
                    """)
                try await herald.ingest(ManagementPayloads.track("Greet", user: "u-1", id: "e-1"))
                #expect(try await Self.eventually { receiver.received.count >= 3 })
                try await Task.sleep(for: .milliseconds(300))  // nothing more comes for it
                try await herald.ingest(ManagementPayloads.track("Greet", user: "u-2", id: "e-2"))
                #expect(try await Self.eventually { try await herald.store.outboxCounts().rejected == 1 })
                try await herald.ingest(ManagementPayloads.track("Greet", user: "u-3", id: "e-3"))
                #expect(try await Self.eventually {
                    let pending = try await herald.store.outboxCounts().pending
                    return receiver.received.count >= 5 && pending == 0
                })

                let requests = receiver.received
                #expect(requests.map(\.status) == [500, 429, 200, 400, 200])
                let first = requests[0].messageIds
                #expect(first.count == 1)
                #expect(requests[1].messageIds == first && requests[2].messageIds == first)
                #expect(requests[0].authorization == "Basic " + Data("wk_e2e:".utf8).base64EncodedString())
                #expect(requests.allSatisfy { $0.contentEncoding == "gzip" && $0.path == "/v1/batch" })
                let users = requests.map { $0.batch.first?["userId"] as? String }
                #expect(users == ["u-1", "u-1", "u-1", "u-2", "u-3"])
                let kept = try await herald.store.outboxCalls(workspace: "default")
                #expect(kept.count == 1)
                #expect(kept.first?.rejected == true)
                #expect(kept.first?.messageId == requests[3].messageIds.first)
                #expect(kept.first?.lastError?.contains("HTTP 400") == true)
                // The gauge is set at most once a second.
                #expect(try await Self.eventually(5) { try await herald.get("/metrics").body.contains("herald_segment_outbox_depth 0") })
            }
        }
    }

    @Test("kill -9 with calls in the outbox: after the restart each arrives, under its one messageId")
    func killWithCallsInTheOutbox() async throws {
        let receiver = TrackingAPIReceiver()
        receiver.down = true
        try await receiver.run { endpoint in
            let source = try SourceHerald(yaml: """
                segment: { write_key: "${HERALD_SECRET_DEFAULT_SEGMENT_WRITE_KEY}", endpoint: "\(endpoint)" }
                channels: { inbox: { type: inbox } }
                templates: { hello: { channel: inbox, body: "hi" } }
                automations: { greet: { steps: [ { send: hello } ] } }
                mappings: [ { on: track/Greet, run: greet } ]
                """, writeKey: "wk_crash")
            defer { source.remove() }
            let first = try source.start()
            let key = try SourceHerald.ingestKey(of: first)
            for user in ["u-1", "u-2", "u-3"] {
                try await SourceHerald.track(first, key: key, event: "Greet", user: user, messageId: "evt-\(user)")
            }
            let store = try HeraldStore.open(path: source.database)
            #expect(try await Self.eventually {
                let pending = try await store.outboxCounts().pending
                return pending == 3 && receiver.received.count >= 1
            })
            first.killHard()
            let written = Set(try await store.outboxCalls(workspace: "default").map(\.messageId))
            #expect(written.count == 3)

            receiver.down = false
            let second = try source.start()
            #expect(try await Self.eventually { try await store.outboxCounts().pending == 0 })
            let accepted = receiver.received.filter { $0.status == 200 }.flatMap(\.batch)
            #expect(Set(accepted.compactMap { $0["messageId"] as? String }) == written)
            // Every attempt of a message's event, before and after the crash, carried the same messageId.
            var idsByMessage: [String: Set<String>] = [:]
            for call in receiver.received.flatMap(\.batch) {
                let message = (call["properties"] as? [String: Any])?["message_id"] as? String ?? ""
                idsByMessage[message, default: []].insert(call["messageId"] as? String ?? "")
            }
            #expect(idsByMessage.count == 3)
            #expect(idsByMessage.values.allSatisfy { $0.count == 1 })
            #expect(second.terminate() == 0)
        }
    }
}
