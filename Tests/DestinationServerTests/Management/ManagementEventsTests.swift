import Foundation
import SegmentSpec
import NIOHTTP1
import Testing

@Suite("Management API: events, explain traces, unmapped names, profiles and groups")
struct ManagementEventsTests {
    typealias P = ManagementPayloads

    @Test("events are listed newest first, filtered, and paged with a cursor that loses and repeats nothing")
    func filtersAndPages() async throws {
        try await LiveHerald.run { herald in
            for index in 0..<7 {
                try await herald.ingest(P.track(index.isMultiple(of: 2) ? "Viewed" : "Clicked", user: "u-\(index % 3)", id: "t-\(index)"))
            }
            try await herald.ingest(P.identify(user: "u-1", id: "i-1"))
            let all = try await herald.api("/api/events")["events"]?.arrayValue ?? []
            #expect(all.map { $0["messageId"]?.stringValue } == ["i-1", "t-6", "t-5", "t-4", "t-3", "t-2", "t-1", "t-0"])

            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await herald.api("/api/events?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
                let events = page["events"]?.arrayValue ?? []
                #expect(events.count <= 3)
                seen += events.compactMap { $0["messageId"]?.stringValue }
                cursor = page["nextCursor"]?.stringValue
            } while cursor != nil
            #expect(seen == all.compactMap { $0["messageId"]?.stringValue })

            #expect(try await herald.api("/api/events?type=identify")["events"]?.arrayValue?.map { $0["messageId"] } == ["i-1"])
            let clicked = try await herald.api("/api/events?name=track/Clicked")["events"]?.arrayValue ?? []
            #expect(clicked.map { $0["messageId"] } == ["t-5", "t-3", "t-1"])
            let ofUser = try await herald.api("/api/events?userId=u-1")["events"]?.arrayValue ?? []
            #expect(ofUser.map { $0["messageId"] } == ["i-1", "t-4", "t-1"])
            #expect(try await herald.api("/api/events?messageId=t-2")["events"]?.arrayValue?.count == 1)
            // `after` follows the log forwards, oldest first.
            let fourth = try #require(all[4]["seq"]).encodedString()
            let after = try await herald.api("/api/events?after=\(fourth)")["events"]?.arrayValue ?? []
            #expect(after.map { $0["messageId"] } == ["t-4", "t-5", "t-6", "i-1"])
            // Time range on receipt: everything arrived in the last minute, nothing in the future.
            let minuteAgo = Timestamp(Date().addingTimeInterval(-60)).iso8601
            let inAMinute = Timestamp(Date().addingTimeInterval(60)).iso8601
            #expect(try await herald.api("/api/events?since=\(minuteAgo)&limit=100")["events"]?.arrayValue?.count == 8)
            #expect(try await herald.api("/api/events?since=\(inAMinute)")["events"]?.arrayValue?.count == 0)
            #expect(try await herald.api("/api/events?until=\(minuteAgo)")["events"]?.arrayValue?.count == 0)
        }
    }

    @Test("malformed query parameters get 400 naming the parameter", arguments: [
        ("limit=0", "`limit`"), ("limit=abc", "`limit`"), ("type=click", "`type`"), ("since=yesterday", "`since`"), ("cursor=-4", "`cursor`"),
    ])
    func badParameters(query: String, named: String) async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.get("/api/events?\(query)", auth: .bearer(herald.adminKey))
            #expect(reply.status == 400)
            #expect(reply.message?.contains(named) == true, "\(reply.body)")
        }
    }

    @Test("one event shows its raw payload, Courier data and the explain trace: matched, unmatched and condition-false")
    func explainTraces() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(
                P.identify(user: "u-1", id: "i-1", traits: #"{"first_name":"Ada"}"#),
                P.track("Order Completed", user: "u-1", id: "paid", properties: #"{"order_id":"o-1","revenue":12}"#),
                P.track("Order Completed", user: "u-1", id: "free", properties: #"{"order_id":"o-2","revenue":0}"#),
                P.track("Logged In", user: "u-1", id: "login"))
            try await herald.waitForEngine()
            func event(_ id: String) async throws -> JSONValue {
                let seq = try #require(try await herald.api("/api/events?messageId=\(id)")["events"]?[0]?["seq"])
                return try await herald.api("/api/events/\(seq.encodedString())")
            }
            let paid = try await event("paid")
            #expect(paid["name"] == "track/Order Completed")
            #expect(paid["data"] == ["order_id": "o-1", "revenue": 12])
            #expect(paid["raw"]?["event"] == "Order Completed")
            let matched = try #require(paid["explain"]?["mappings"]?[0])
            #expect(matched["when"] == "data.revenue > 0")
            #expect(matched["value"] == true)
            #expect(matched["result"]?.stringValue?.hasPrefix("started run") == true)

            let free = try await event("free")
            #expect(free["explain"]?["mappings"]?[0]?["value"] == false)
            #expect(free["explain"]?["mappings"]?[0]?["result"] == "condition `data.revenue > 0` was false (data.revenue = 0)")

            let login = try await event("login")
            #expect(login["explain"]?["summary"] == #"no mapping for "track/Logged In""#)

            let missing = try await herald.get("/api/events/999999", auth: .bearer(herald.adminKey))
            #expect(missing.status == 404)
            #expect(try await herald.get("/api/events/latest", auth: .bearer(herald.adminKey)).status == 400)
        }
    }

    @Test("unmapped lists names no mapping handles, with counts and the last time seen")
    func unmapped() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(
                P.track("Logged In", user: "u-1", id: "a"), P.track("Logged In", user: "u-2", id: "b"),
                P.track("Order Completed", user: "u-1", id: "c", properties: #"{"revenue":1}"#), P.identify(user: "u-1", id: "d"))
            try await herald.waitForEngine()
            let unmapped = try await herald.api("/api/unmapped")["unmapped"]?.arrayValue ?? []
            let byName = Dictionary(uniqueKeysWithValues: unmapped.compactMap { entry in entry["name"]?.stringValue.map { ($0, entry) } })
            #expect(Set(byName.keys) == ["track/Logged In", "identify"])
            #expect(byName["track/Logged In"]?["count"] == 2)
            #expect(byName["identify"]?["lastSeenAt"]?.stringValue.flatMap(Timestamp.init(iso8601:)) != nil)
        }
    }

    @Test("profiles are found by any of their ids, with their events, messages and groups")
    func profilesAndGroups() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(
                P.identify(anonymous: "anon-1", id: "i-0", traits: #"{"plan":"trial"}"#),
                P.identify(user: "u-1", anonymous: "anon-1", id: "i-1", traits: #"{"first_name":"Ada","email":"ada@example.com"}"#),
                #"{"type":"group","userId":"u-1","groupId":"g-1","messageId":"g-msg","traits":{"name":"Initech"}}"#,
                P.track("Order Completed", user: "u-1", id: "paid", properties: #"{"order_id":"o-1","revenue":5}"#))
            try await herald.waitForEngine()
            let byAnonymous = try await herald.api("/api/profiles/anon-1")
            #expect(byAnonymous["id"] == "u-1")
            #expect(byAnonymous["traits"]?["plan"] == "trial")
            #expect(byAnonymous["traits"]?["firstName"] == "Ada")
            #expect(byAnonymous["aliases"] == ["anon-1"])
            #expect(byAnonymous["groups"] == ["g-1"])
            let events = try await herald.api("/api/profiles/u-1/events")["events"]?.arrayValue ?? []
            #expect(events.map { $0["messageId"] } == ["paid", "g-msg", "i-1", "i-0"])
            #expect(try await AutomationEndToEndTests.eventually {
                try await herald.api("/api/profiles/u-1/messages")["messages"]?.arrayValue?.count == 1
            })
            #expect(try await herald.api("/api/profiles/u-1/messages")["messages"]?[0]?["subject"] == "Order o-1 confirmed")
            let group = try await herald.api("/api/groups/g-1")
            #expect(group["traits"]?["name"] == "Initech")
            #expect(group["members"] == ["u-1"])
            #expect(try await herald.api("/api/groups/g-1/members")["members"]?[0]?["traits"]?["email"] == "ada@example.com")
            let unknown = try await herald.get("/api/profiles/nobody", auth: .bearer(herald.adminKey))
            #expect(unknown.status == 404)
            #expect(unknown.message?.contains("nobody") == true)
            #expect(try await herald.get("/api/groups/none", auth: .bearer(herald.adminKey)).status == 404)
        }
    }
}
