import AutomationEngine
import DestinationServer
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("POST /api/messages/{id}/events: what the provider saw, reported back", .serialized)
struct MessageReportTests {
    static func yaml(hookPort: Int, segment: String) -> String {
        """
        segment: { write_key: wk_reports, endpoint: "\(segment)" }
        channels:
          mailer: { type: webhook, url: "http://127.0.0.1:\(hookPort)/hook", secret: mailer-secret }
        templates: { hello: { channel: mailer, body: "hello" } }
        automations: { greet: { steps: [ { send: hello } ] } }
        mappings: [ { on: track/Greet, run: greet } ]
        """
    }

    /// Runs a server with a webhook mailer and a Segment receiver; passes a sent message's id.
    static func withSentMessage(_ body: @Sendable (LiveHerald, TrackingAPIReceiver, String) async throws -> Void) async throws {
        let segment = TrackingAPIReceiver()
        let mailer = WebhookReceiver(answers: [200])
        try await segment.run { endpoint in
            try await mailer.run { port in
                try await LiveHerald.run(configure: { $0.outboundDestinations = try! OutboundDestinationPolicy(allowing: ["127.0.0.1"]) }) { herald in
                    try await herald.applyConfiguration(Self.yaml(hookPort: port, segment: endpoint))
                    try await herald.ingest(ManagementPayloads.track("Greet", user: "u-1", id: "e-1"))
                    var message: MessageRecord?
                    for _ in 0..<400 {
                        message = try await herald.store.messages(workspace: "default").first
                        if message?.status == .sent { break }
                        try await Task.sleep(for: .milliseconds(25))
                    }
                    let id = try #require(message?.id)
                    #expect(message?.status == .sent)
                    try await body(herald, segment, id)
                }
            }
        }
    }

    static func signed(_ body: String, secret: String = "mailer-secret", at time: Date = Date()) -> [(String, String)] {
        [("Herald-Signature", WebhookChannel.signature(body: Array(body.utf8), secret: secret, at: Timestamp(time)))]
    }

    @Test("admin key: delivered, clicked, opened; repeats are counted, not recorded; Segment hears each event once")
    func adminReports() async throws {
        try await Self.withSentMessage { herald, segment, id in
            let path = "/api/messages/\(id)/events"
            let delivered = try await herald.post(path, #"{"event":"delivered"}"#, auth: .bearer(herald.adminKey))
            #expect(delivered.status == 200)
            #expect(delivered.json?["recorded"] == true)
            #expect(delivered.json?["message"]?["status"] == "delivered")
            let click = #"{"event":"clicked","url":"https://example.com/pricing"}"#
            #expect(try await herald.post(path, click, auth: .bearer(herald.adminKey)).json?["message"]?["status"] == "clicked")
            let again = try await herald.post(path, click, auth: .bearer(herald.adminKey))
            #expect(again.json?["recorded"] == false)
            #expect(again.json?["clicks"] == 2)
            let opened = try await herald.post(path, #"{"event":"opened"}"#, auth: .bearer(herald.adminKey))
            #expect(opened.json?["recorded"] == true)
            #expect(opened.json?["message"]?["status"] == "clicked")  // recorded, not regressed
            let bounce = try await herald.post(path, #"{"event":"bounced","reason":"550"}"#, auth: .bearer(herald.adminKey))
            #expect(bounce.json?["recorded"] == false)
            #expect(bounce.json?["note"]?.stringValue?.contains("does not move it back") == true)

            var names: [String] = []
            for _ in 0..<400 {
                names = segment.received.filter { $0.status == 200 }.flatMap(\.batch).compactMap { $0["event"] as? String }
                if names.count >= 4 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            try await Task.sleep(for: .milliseconds(300))
            names = segment.received.filter { $0.status == 200 }.flatMap(\.batch).compactMap { $0["event"] as? String }
            #expect(names == ["Message Sent", "Message Delivered", "Message Clicked", "Message Opened"])
            let clicked = segment.received.flatMap(\.batch).first { $0["event"] as? String == "Message Clicked" }
            #expect((clicked?["properties"] as? [String: Any])?["url"] as? String == "https://example.com/pricing")
        }
    }

    @Test("signed with the channel's secret instead of a key; a wrong, altered or stale signature is 401")
    func signedReports() async throws {
        try await Self.withSentMessage { herald, _, id in
            let path = "/api/messages/\(id)/events"
            let body = #"{"event":"delivered"}"#
            let good = try await herald.post(path, body, auth: .none, headers: Self.signed(body))
            #expect(good.status == 200)
            #expect(good.json?["message"]?["status"] == "delivered")
            let wrongSecret = try await herald.post(path, body, auth: .none, headers: Self.signed(body, secret: "guess"))
            #expect(wrongSecret.status == 401)
            let altered = try await herald.post(path, #"{"event":"bounced"}"#, auth: .none, headers: Self.signed(body))
            #expect(altered.status == 401)
            let stale = try await herald.post(path, body, auth: .none, headers: Self.signed(body, at: Date().addingTimeInterval(-3600)))
            #expect(stale.status == 401)
            let otherMessage = try await herald.post("/api/messages/run-999-step-0/events", body, auth: .none, headers: Self.signed(body))
            #expect(otherMessage.status == 401)  // the same answer as a bad signature: ids are not probed this way
            #expect(try await herald.store.message(workspace: "default", id: id)?.status == .delivered)
        }
    }

    @Test("bad reports are 400 naming the problem; unknown messages 404", arguments: [
        ("", "the request body is empty"),
        ("[1]", "must be a JSON object"),
        (#"{"url":"https://x"}"#, "`event` is required"),
        (#"{"event":"exploded"}"#, "`event` \"exploded\" is not one of"),
        (#"{"event":"clicked"}"#, "needs `url`"),
        (#"{"event":"clicked","url":"javascript:alert(1)"}"#, "needs `url`"),
    ])
    func badReports(body: String, message: String) async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post("/api/messages/run-1-step-0/events", body, auth: .bearer(herald.adminKey))
            #expect(reply.status == 400)
            #expect(reply.message?.contains(message) == true, "\(reply.body)")
            let unknown = try await herald.post("/api/messages/run-1-step-0/events", #"{"event":"opened"}"#, auth: .bearer(herald.adminKey))
            #expect(unknown.status == 404)
        }
    }
}
