import AutomationEngine
import Foundation
import SegmentSpec
import NIOHTTP1
import Testing

@Suite("Management API: runs, messages, inboxes, dry runs and replay")
struct ManagementRunsTests {
    typealias P = ManagementPayloads

    @Test("runs are filtered by state, automation and user, show their steps, and can be cancelled by id or by token")
    func runs() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(
                P.identify(user: "u-1", id: "i-1", traits: #"{"first_name":"Ada"}"#),
                P.track("Order Completed", user: "u-1", id: "paid", properties: #"{"order_id":"o-1","revenue":5}"#),
                P.track("Cart Abandoned", user: "u-1", id: "cart-1", properties: #"{"product":"Lamp"}"#),
                P.track("Cart Abandoned", user: "u-2", id: "cart-2", properties: #"{"product":"Desk"}"#))
            try await herald.waitForEngine()
            #expect(try await AutomationEndToEndTests.eventually { try await herald.api("/api/runs?state=completed")["runs"]?.arrayValue?.count == 1 })

            let pending = try await herald.api("/api/runs?state=pending")["runs"]?.arrayValue ?? []
            #expect(pending.map { $0["automation"] } == ["remind", "remind"])
            #expect(pending.map { $0["recipient"] } == ["u-2", "u-1"])
            #expect(try await herald.api("/api/runs?automation=confirm")["runs"]?[0]?["state"] == "completed")
            #expect(try await herald.api("/api/runs?userId=u-2")["runs"]?.arrayValue?.count == 1)
            let page = try await herald.api("/api/runs?limit=2")
            #expect(page["runs"]?.arrayValue?.count == 2)
            let rest = try await herald.api("/api/runs?limit=2&cursor=\(try #require(page["nextCursor"]?.stringValue))")
            #expect(rest["runs"]?.arrayValue?.count == 1)
            #expect(rest["nextCursor"] == .null)

            let confirm = try #require(try await herald.api("/api/runs?automation=confirm")["runs"]?[0]?["id"]).encodedString()
            let detail = try await herald.api("/api/runs/\(confirm)")
            #expect(detail["steps"]?.arrayValue?.map { $0["outcome"]?.stringValue?.components(separatedBy: ":").first } == ["message run-\(confirm)-step-0 sent", "completed"])
            #expect(detail["messages"]?[0]?["subject"] == "Order o-1 confirmed")

            let u1Run = try #require(pending[1]["id"]).encodedString()
            let cancelled = try await herald.request(.POST, "/api/runs/\(u1Run)/cancel", auth: .bearer(herald.adminKey))
            #expect(cancelled.status == 200)
            #expect(cancelled.json?["state"] == "cancelled")
            #expect(try await herald.api("/api/runs/\(u1Run)")["steps"]?.arrayValue?.last?["outcome"] == "cancelled: through the API")
            let again = try await herald.request(.POST, "/api/runs/\(u1Run)/cancel", auth: .bearer(herald.adminKey))
            #expect(again.status == 409)
            #expect(again.message?.contains("cancelled") == true)
            #expect(try await herald.request(.POST, "/api/runs/424242/cancel", auth: .bearer(herald.adminKey)).status == 404)

            let byToken = try await herald.request(.POST, "/api/runs/cancel", body: #"{"token":"cart-u-2"}"#, auth: .bearer(herald.adminKey))
            #expect(byToken.json?["cancelled"]?.arrayValue?.count == 1)
            #expect(try await herald.api("/api/runs?state=pending")["runs"] == [])
            // The token stays in force: a run created right after is created cancelled.
            try await herald.ingest(P.track("Cart Abandoned", user: "u-2", id: "cart-3"))
            try await herald.waitForEngine()
            #expect(try await herald.api("/api/runs?userId=u-2")["runs"]?.arrayValue?.map { $0["state"] } == ["cancelled", "cancelled"])
            let missing = try await herald.request(.POST, "/api/runs/cancel", body: #"{}"#, auth: .bearer(herald.adminKey))
            #expect(missing.status == 400)
            #expect(missing.message?.contains("token") == true)
        }
    }

    @Test("messages are filtered and show their history; the inbox counts unread and marks read")
    func messagesAndInbox() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(
                P.identify(user: "u-1", anonymous: "anon-1", id: "i-1", traits: #"{"first_name":"Ada"}"#),
                P.track("Order Completed", user: "u-1", id: "o-1", properties: #"{"order_id":"o-1","revenue":5}"#),
                P.track("Order Completed", user: "u-1", id: "o-2", properties: #"{"order_id":"o-2","revenue":7}"#),
                P.track("Order Completed", user: "u-3", id: "o-3", properties: #"{"order_id":"o-3","revenue":9}"#))
            #expect(try await AutomationEndToEndTests.eventually { try await herald.api("/api/messages")["messages"]?.arrayValue?.count == 3 })
            let mine = try await herald.api("/api/messages?userId=anon-1")["messages"]?.arrayValue ?? []
            #expect(mine.map { $0["subject"] } == ["Order o-2 confirmed", "Order o-1 confirmed"])
            #expect(try await herald.api("/api/messages?status=sent&channel=inbox")["messages"]?.arrayValue?.count == 3)
            #expect(try await herald.api("/api/messages?status=undeliverable")["messages"] == [])
            #expect(try await herald.get("/api/messages?status=lost", auth: .bearer(herald.adminKey)).status == 400)
            #expect(try await herald.get("/api/messages?cursor=run-999-step-0", auth: .bearer(herald.adminKey)).status == 400)
            let id = try #require(mine[0]["id"]?.stringValue)
            let message = try await herald.api("/api/messages/\(id)")
            #expect(message["history"]?.arrayValue?.map { $0["status"] } == ["sent"])
            #expect(message["body"] == "Thanks Ada, 7 received.")

            let inbox = try await herald.api("/api/inbox/u-1")
            #expect(inbox["unread"] == 2)
            let read = try await herald.request(.POST, "/api/inbox/u-1/\(id)/read", auth: .bearer(herald.adminKey))
            #expect(read.status == 200)
            #expect(read.json?["readAt"]?.stringValue != nil)
            #expect(try await herald.api("/api/inbox/anon-1")["unread"] == 1)
            // Another user's message is not in this inbox.
            let other = try #require(try await herald.api("/api/messages?userId=u-3")["messages"]?[0]?["id"]?.stringValue)
            #expect(try await herald.request(.POST, "/api/inbox/u-1/\(other)/read", auth: .bearer(herald.adminKey)).status == 404)
        }
    }

    @Test("a dry run changes nothing and reports exactly what the real event then does")
    func dryRunMatchesRealRun() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(P.identify(user: "u-1", id: "i-1", traits: #"{"first_name":"Ada"}"#))
            try await herald.waitForEngine()
            let order = P.track("Order Completed", user: "u-1", id: "o-1", properties: #"{"order_id":"o-1","revenue":5}"#)
            let before = try await herald.store.eventCount()
            let reply = try await herald.request(.POST, "/api/test", body: #"{"event":\#(order)}"#, auth: .bearer(herald.adminKey))
            #expect(reply.status == 200, "\(reply.body)")
            let report = try #require(reply.json)
            #expect(report["event"]?["name"] == "track/Order Completed")
            #expect(report["explain"]?["mappings"]?[0]?["value"] == true)
            let planned = try #require(report["runs"]?[0])
            #expect(planned["automation"] == "confirm")
            #expect(planned["endState"] == "completed")
            let plannedMessage = try #require(planned["messages"]?[0])
            #expect(plannedMessage["subject"] == "Order o-1 confirmed")
            #expect(plannedMessage["body"] == "Thanks Ada, 5 received.")
            // No side effects.
            #expect(try await herald.store.eventCount() == before)
            #expect(try await herald.store.runs(workspace: "default").isEmpty)
            #expect(try await herald.store.messages(workspace: "default").isEmpty)

            try await herald.ingest(order)
            #expect(try await AutomationEndToEndTests.eventually { try await !herald.store.messages(workspace: "default").isEmpty })
            let real = try #require(try await herald.store.messages(workspace: "default").first)
            #expect(real.subject == plannedMessage["subject"]?.stringValue)
            #expect(real.body == plannedMessage["body"]?.stringValue)
            #expect(real.status.rawValue == plannedMessage["status"]?.stringValue)
            #expect(try await herald.store.runs(workspace: "default").map(\.automation) == ["confirm"])

            // A delay is simulated, not waited for; a draft configuration is evaluated instead of the applied one.
            let cart = P.track("Cart Abandoned", user: "u-1", id: "c-1", properties: #"{"product":"Lamp"}"#)
            let delayed = try await herald.request(.POST, "/api/test", body: #"{"event":\#(cart)}"#, auth: .bearer(herald.adminKey))
            let steps = delayed.json?["runs"]?[0]?["steps"]?.arrayValue ?? []
            #expect(steps.first?["outcome"]?.stringValue?.hasPrefix("waiting 86400") == true || steps.first?["outcome"]?.stringValue?.hasPrefix("waiting") == true)
            #expect(delayed.json?["runs"]?[0]?["messages"]?[0]?["body"] == "Still thinking about Lamp?")
            let draft = P.configuration.replacingOccurrences(of: "data.revenue > 0", with: "data.revenue > 100")
            let body = JSONValue.object(JSONObject([("event", try JSONParser.parse(order)), ("config", .string(draft))])).encodedString()
            let drafted = try await herald.request(.POST, "/api/test", body: body, auth: .bearer(herald.adminKey))
            #expect(drafted.json?["draft"] == true)
            #expect(drafted.json?["runs"] == [])
            #expect(drafted.json?["explain"]?["mappings"]?[0]?["result"] == "condition `data.revenue > 100` was false (data.revenue = 5)")
            #expect(try await herald.api("/api/config")["version"] == 1)

            let badDraft = JSONValue.object(JSONObject([("event", try JSONParser.parse(order)), ("config", "mappings: [ { on: identify, run: ghost } ]")])).encodedString()
            #expect(try await herald.request(.POST, "/api/test", body: badDraft, auth: .bearer(herald.adminKey)).status == 422)
            let refused = try await herald.request(.POST, "/api/test", body: #"{"event":{"type":"track","userId":"u"}}"#, auth: .bearer(herald.adminKey))
            #expect(refused.status == 400)
            #expect(refused.message?.contains("event") == true)
            #expect(try await herald.request(.POST, "/api/test", body: #"{"evnt":{}}"#, auth: .bearer(herald.adminKey)).status == 400)
        }
    }

    @Test("replay starts what a new mapping would have started, once; a dry replay only reports it")
    func replay() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration("channels: { inbox: { type: inbox } }\n")
            try await herald.ingest(
                P.identify(user: "u-1", id: "i-1", traits: #"{"first_name":"Ada"}"#),
                P.track("Order Completed", user: "u-1", id: "o-1", properties: #"{"order_id":"o-1","revenue":5}"#),
                P.track("Order Completed", user: "u-1", id: "o-2", properties: #"{"order_id":"o-2","revenue":0}"#))
            try await herald.waitForEngine()
            try await herald.applyConfiguration(P.configuration)

            let dry = try await herald.request(.POST, "/api/replay", body: #"{"dryRun":true}"#, auth: .bearer(herald.adminKey))
            #expect(dry.status == 200, "\(dry.body)")
            #expect(dry.json?["eventsConsidered"] == 3)
            #expect(dry.json?["runsStarted"] == 1)
            #expect(dry.json?["events"]?.arrayValue?.map { $0["messageId"] } == ["o-1", "o-2"])
            #expect(try await herald.store.runs(workspace: "default").isEmpty)

            let real = try await herald.request(.POST, "/api/replay", body: #"{"dryRun":false}"#, auth: .bearer(herald.adminKey))
            #expect(real.json?["runsStarted"] == 1)
            #expect(real.json?["events"]?[0]?["started"] == ["confirm"])
            #expect(try await AutomationEndToEndTests.eventually { try await herald.store.messages(workspace: "default").count == 1 })

            let again = try await herald.request(.POST, "/api/replay", auth: .bearer(herald.adminKey))  // no body: every field is optional
            #expect(again.status == 200)
            #expect(again.json?["runsStarted"] == 0)
            #expect(again.json?["events"]?[0]?["explain"]?["mappings"]?[0]?["result"]?.stringValue?.contains("already started") == true)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await herald.store.messages(workspace: "default").count == 1)
            #expect(try await herald.store.runs(workspace: "default").count == 1)

            let future = Timestamp(Date().addingTimeInterval(3600)).iso8601
            #expect(try await herald.request(.POST, "/api/replay", body: #"{"from":"\#(future)"}"#, auth: .bearer(herald.adminKey)).json?["eventsConsidered"] == 0)
            let backwards = try await herald.request(.POST, "/api/replay", body: #"{"from":"\#(future)","to":"2020-01-01T00:00:00Z"}"#, auth: .bearer(herald.adminKey))
            #expect(backwards.status == 400)
            #expect(try await herald.request(.POST, "/api/replay", body: #"{"from":"soon"}"#, auth: .bearer(herald.adminKey)).status == 400)
        }
    }
}
