import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("Automations through the running server: ingest, engine, runs, inbox")
struct AutomationEndToEndTests {
    static let configuration = """
        channels:
          inbox: { type: inbox }
        templates:
          order-confirmation: { channel: inbox, subject: "Order {{data.order_id}} confirmed", body: "Thanks {{profile.firstName}}!" }
        automations:
          confirm: { steps: [ { send: order-confirmation } ] }
        mappings:
          - on: track/Order Completed
            when: 'data.revenue > 0'
            run: confirm
        """

    /// Polls until `condition` holds or 10 seconds pass (the engine runs in the background).
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test("a tracked order reaches the user's inbox, and its explain trace says why")
    func orderToInbox() async throws {
        try await LiveHerald.run { herald in
            try await herald.store.applyConfiguration(yaml: Self.configuration, workspace: "default", secrets: .none)
            #expect(try await herald.post("/v1/identify", #"{"userId":"u-1","traits":{"first_name":"Ada"}}"#, auth: .basic(herald.ingestKey)).status == 200)
            let paid = #"{"type":"track","event":"Order Completed","userId":"u-1","messageId":"paid-1","properties":{"order_id":"o-1","revenue":12.5}}"#
            let free = #"{"type":"track","event":"Order Completed","userId":"u-1","messageId":"free-1","properties":{"order_id":"o-2","revenue":0}}"#
            #expect(try await herald.post("/inbound/segment", "[\(paid),\(free)]", auth: .basic(herald.ingestKey)).status == 200)
            let arrived = try await Self.eventually { try await !herald.store.messages(workspace: "default", recipient: "u-1").isEmpty }
            #expect(arrived)
            let message = try #require(try await herald.store.messages(workspace: "default", recipient: "u-1").first)
            #expect(message.subject == "Order o-1 confirmed")
            #expect(message.body == "Thanks Ada!")
            #expect(message.status == .sent)
            let freeSeq = try #require(try await herald.store.events(workspace: "default", messageId: "free-1").first?.seq)
            let explained = try await Self.eventually { try await herald.store.trace(seq: freeSeq) != nil }
            #expect(explained)
            let check = try await herald.store.trace(seq: freeSeq)?["mappings"]?.arrayValue?.first
            #expect(check?["result"] == "condition `data.revenue > 0` was false (data.revenue = 0)")
            #expect(try await herald.store.messages(workspace: "default").count == 1)
            // Testers read the same trace through the management API.
            let listed = try await herald.get("/api/events", auth: .bearer(herald.adminKey))
            let entry = listed.json?["events"]?.arrayValue?.first { $0["messageId"] == "free-1" }
            #expect(entry?["explain"]?["mappings"]?.arrayValue?.first?["result"] == "condition `data.revenue > 0` was false (data.revenue = 0)")
        }
    }
}
