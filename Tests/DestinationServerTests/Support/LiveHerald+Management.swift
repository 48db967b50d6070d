import Foundation
import NIOHTTP1
import SegmentSpec
import Testing

extension LiveHerald {
    /// GETs a management route with the admin key and returns its JSON, expecting 200.
    func api(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        let reply = try await get(path, auth: .bearer(adminKey))
        #expect(reply.status == 200, "GET \(path): \(reply.body)", sourceLocation: sourceLocation)
        return try #require(reply.json, sourceLocation: sourceLocation)
    }

    /// Sends events to `/inbound/segment` as Segment does and expects them stored.
    func ingest(_ events: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await ingest(contentsOf: events, sourceLocation: sourceLocation)
    }

    /// Sends events to `/inbound/segment` in one request and expects every one stored.
    func ingest(contentsOf events: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reply = try await post("/inbound/segment", "[\(events.joined(separator: ","))]", auth: .basic(ingestKey))
        #expect(reply.status == 200, "\(reply.body)", sourceLocation: sourceLocation)
        #expect(reply.json?["rejected"] == [], "\(reply.body)", sourceLocation: sourceLocation)
    }

    /// Waits until the engine has processed every stored event of the default workspace.
    func waitForEngine(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<400 {
            let events = try await get("/api/events?limit=1000", auth: .bearer(adminKey)).json?["events"]?.arrayValue ?? []
            if events.allSatisfy({ $0["explain"] != .null }) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the engine did not process every event within 10 s", sourceLocation: sourceLocation)
    }

    /// Applies a configuration through the API, expecting 201.
    func applyConfiguration(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reply = try await request(.PUT, "/api/config", body: yaml, auth: .bearer(adminKey), contentType: "application/yaml")
        #expect(reply.status == 201, "\(reply.body)", sourceLocation: sourceLocation)
    }
}

/// Event bodies for the management suites.
enum ManagementPayloads {
    static func track(_ event: String, user: String, id: String, properties: String = "{}") -> String {
        #"{"type":"track","event":"\#(event)","userId":"\#(user)","messageId":"\#(id)","properties":\#(properties)}"#
    }

    static func identify(user: String? = nil, anonymous: String? = nil, id: String, traits: String = "{}") -> String {
        let ids = [user.map { #""userId":"\#($0)""# }, anonymous.map { #""anonymousId":"\#($0)""# }].compactMap { $0 }.joined(separator: ",")
        return #"{"type":"identify",\#(ids),"messageId":"\#(id)","traits":\#(traits)}"#
    }

    /// Inbox + webhook-free configuration: an order confirmation with a condition, and a
    /// reminder that waits a day (so its run stays pending) and can be cancelled by token.
    static let configuration = """
        channels:
          inbox: { type: inbox }
        templates:
          confirmation: { channel: inbox, subject: "Order {{data.order_id}} confirmed", body: "Thanks {{profile.firstName}}, {{data.revenue}} received." }
          reminder: { channel: inbox, body: "Still thinking about {{data.product}}?" }
        automations:
          confirm: { steps: [ { send: confirmation } ] }
          remind:
            cancellation_token: "cart-{{event.userId}}"
            steps: [ { delay: 1d }, { send: reminder } ]
        mappings:
          - on: track/Order Completed
            when: 'data.revenue > 0'
            run: confirm
          - on: track/Cart Abandoned
            run: remind
        """
}
