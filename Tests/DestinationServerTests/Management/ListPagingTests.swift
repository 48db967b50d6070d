import AutomationEngine
import Foundation
import NIOHTTP1
import SegmentSpec
import Testing

/// Every list of the management API and the web page comes in pages: one request builds
/// at most `limit` items (1,000 at most), however much an ingest key sent.
@Suite("Lists come in pages: limit, nextCursor, and a cap on what one request builds")
struct ListPagingTests {
    typealias P = ManagementPayloads

    /// Sends events in batches of up to 1,000 (one request each).
    static func ingest(_ herald: LiveHerald, _ events: [String]) async throws {
        for start in stride(from: 0, to: events.count, by: 1_000) {
            try await herald.ingest(contentsOf: Array(events[start..<min(start + 1_000, events.count)]))
        }
    }

    /// Signs in to the web page with the admin key; returns the session cookie.
    static func signIn(_ herald: LiveHerald) async throws -> String {
        let form = try await WebPageTests.exchange(herald, "GET", "/sign-in")
        let tokenCookie = try #require(form.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie: herald_sign_in=") })
        let token = try #require(tokenCookie.dropFirst("set-cookie: herald_sign_in=".count).split(separator: ";").first).description
        let signIn = try await WebPageTests.exchange(herald, "POST", "/sign-in", cookie: "herald_sign_in=\(token)", form: "key=\(herald.adminKey)&csrf=\(token)")
        let setCookie = try #require(signIn.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") })
        return try #require(setCookie.dropFirst("set-cookie:".count).split(separator: ";").first).trimmingCharacters(in: .whitespaces)
    }

    /// Every page of `path` (which has no query yet) with `limit`, following `nextCursor`.
    static func allPages(_ herald: LiveHerald, _ path: String, key: String, limit: Int) async throws -> [[JSONValue]] {
        var pages: [[JSONValue]] = []
        var cursor: String?
        repeat {
            let page = try await herald.api("\(path)?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? ""))
            pages.append(page[key]?.arrayValue ?? [])
            cursor = page["nextCursor"]?.stringValue
            #expect(page["nextCursor"] != nil, "every page says how to get the next one")
        } while cursor != nil && pages.count < 100
        return pages
    }

    @Test("unmapped names: 50 by default, `limit` up to 1,000, a nextCursor until the last page; the web page shows 100 and links to the next")
    func unmappedNames() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            var names = (0..<260).map { String(format: "Name %03d", $0) }
            names.append("a/b ?&=+ é#\"")  // survives the cursor's encoding
            var events = names.enumerated().map { index, name in
                P.track(name.replacingOccurrences(of: "\"", with: "\\\""), user: "u", id: "n-\(index)")
            }
            events.append(P.track("Order Completed", user: "u", id: "mapped-1", properties: #"{"revenue":0}"#))  // mapped: never listed
            try await Self.ingest(herald, events)
            try await herald.waitForEngine()

            let first = try await herald.api("/api/unmapped")
            #expect(first["unmapped"]?.arrayValue?.count == 50)
            #expect(first["nextCursor"]?.stringValue != nil)

            let pages = try await Self.allPages(herald, "/api/unmapped", key: "unmapped", limit: 100)
            #expect(pages.map(\.count) == [100, 100, 61])
            let listed = pages.flatMap { $0 }.compactMap { $0["name"]?.stringValue }
            #expect(listed.count == Set(listed).count, "no name on two pages")
            #expect(Set(listed) == Set(names.map { "track/\($0)" }))
            let seen = pages.flatMap { $0 }.compactMap { $0["lastSeenAt"]?.stringValue }
            #expect(seen == seen.sorted(by: >), "most recently seen first")

            for (query, message) in [
                ("limit=1001", "`limit` must be a whole number from 1 to 1000, not \"1001\""), ("limit=0", "`limit` must be a whole number from 1 to 1000"),
                ("cursor=not-a-cursor", "`cursor` must be the `nextCursor` of a previous page"),
            ] {
                let refused = try await herald.get("/api/unmapped?\(query)", auth: .bearer(herald.adminKey))
                #expect(refused.status == 400, "\(query)")
                #expect(refused.message?.hasPrefix(message) == true, "\(query): \(refused.body)")
            }

            let cookie = try await Self.signIn(herald)
            let page = try await WebPageTests.exchange(herald, "GET", "/unmapped", cookie: cookie)
            #expect(page.hasPrefix("HTTP/1.1 200"))
            #expect(page.components(separatedBy: ">Start a mapping</a>").count - 1 == 100)
            let next = try #require(page.firstMatch(of: #/href="(/unmapped\?cursor=[^"]+)"/#)?.output.1)
            let second = try await WebPageTests.exchange(herald, "GET", String(next), cookie: cookie)
            #expect(second.components(separatedBy: ">Start a mapping</a>").count - 1 == 100)
            // The same pages as the API's (names without characters HTML escapes).
            for name in pages[0].compactMap({ $0["name"]?.stringValue }) where name.hasPrefix("track/Name") {
                #expect(page.contains("<td>\(name)</td>") && !second.contains("<td>\(name)</td>"), "\(name)")
            }
            for name in pages[1].compactMap({ $0["name"]?.stringValue }) where name.hasPrefix("track/Name") {
                #expect(second.contains("<td>\(name)</td>") && !page.contains("<td>\(name)</td>"), "\(name)")
            }
        }
    }

    @Test("keys, configuration versions and an inbox come in pages; an unknown cursor is a 400")
    func keysVersionsInbox() async throws {
        try await LiveHerald.run { herald in
            let keys = try await Self.allPages(herald, "/api/keys", key: "keys", limit: 1)
            #expect(keys.map(\.count) == [1, 1])
            #expect(Set(keys.flatMap { $0 }.compactMap { $0["scope"]?.stringValue }) == ["ingest", "admin"])
            #expect(try await herald.get("/api/keys?cursor=hk_unknown0", auth: .bearer(herald.adminKey)).status == 400)

            try await herald.applyConfiguration("channels:\n  log: { type: log }\n")
            try await herald.applyConfiguration("channels:\n  inbox: { type: inbox }\n")
            try await herald.applyConfiguration(P.configuration)
            let versions = try await Self.allPages(herald, "/api/config/versions", key: "versions", limit: 2)
            #expect(versions.map { $0.map { $0["version"] } } == [[3, 2], [1]])

            try await herald.ingest(
                P.track("Order Completed", user: "ada", id: "o-1", properties: #"{"revenue":1,"order_id":"1"}"#),
                P.track("Order Completed", user: "ada", id: "o-2", properties: #"{"revenue":2,"order_id":"2"}"#),
                P.track("Order Completed", user: "ada", id: "o-3", properties: #"{"revenue":3,"order_id":"3"}"#))
            var waited = 0
            while try await herald.api("/api/inbox/ada")["messages"]?.arrayValue?.count != 3, waited < 400 {
                try await Task.sleep(for: .milliseconds(25))
                waited += 1
            }
            let inbox = try await Self.allPages(herald, "/api/inbox/ada", key: "messages", limit: 2)
            #expect(inbox.map(\.count) == [2, 1])
            #expect(Set(inbox.flatMap { $0 }.compactMap { $0["subject"]?.stringValue }) == ["Order 3 confirmed", "Order 2 confirmed", "Order 1 confirmed"])
            #expect(try await herald.get("/api/inbox/ada?cursor=nope", auth: .bearer(herald.adminKey)).status == 400)
        }
    }

    @Test("a group or profile carries its first 100 member ids, aliases and groups with their counts; members and events page past them")
    func groupsAndProfiles() async throws {
        try await LiveHerald.run { herald in
            let people = (0..<120).map { #"{"type":"identify","userId":"\#(String(format: "m-%03d", $0))","messageId":"i-\#($0)"}"# }
                + [#"{"type":"identify","userId":"ada","traits":{"firstName":"Ada"},"messageId":"i-ada"}"#]
            let members = (0..<120).map { #"{"type":"group","groupId":"g-1","userId":"\#(String(format: "m-%03d", $0))","messageId":"g-\#($0)"}"# }
            let aliases = (0..<120).map { #"{"type":"alias","previousId":"\#(String(format: "anon-%03d", $0))","userId":"ada","messageId":"a-\#($0)"}"# }
            let groups = (0..<105).map { #"{"type":"group","groupId":"\#(String(format: "team-%03d", $0))","userId":"ada","messageId":"t-\#($0)"}"# }
            // An event under an alias past the first 100 still shows among the profile's events.
            let late = #"{"type":"track","event":"Late","anonymousId":"anon-115","messageId":"late-1"}"#
            try await Self.ingest(herald, people + members + aliases + groups + [late])
            try await herald.waitForEngine()

            let group = try await herald.api("/api/groups/g-1")
            #expect(group["members"]?.arrayValue?.count == 100)
            #expect(group["memberCount"] == 120)
            let pages = try await Self.allPages(herald, "/api/groups/g-1/members", key: "members", limit: 100)
            #expect(pages.map(\.count) == [100, 20])
            #expect(pages.flatMap { $0 }.compactMap { $0["id"]?.stringValue } == (0..<120).map { String(format: "m-%03d", $0) })

            let profile = try await herald.api("/api/profiles/ada")
            #expect(profile["aliases"]?.arrayValue?.count == 100)
            #expect(profile["aliasCount"] == 120)
            #expect(profile["groups"]?.arrayValue?.count == 100)
            #expect(profile["groupCount"] == 105)
            let events = try await herald.api("/api/profiles/anon-115/events?limit=1")
            #expect(events["events"]?[0]?["messageId"] == "late-1")
            #expect(events["nextCursor"]?.stringValue != nil)

            // The web page's lists: 100 rows, and a link to the older ones.
            let cookie = try await Self.signIn(herald)
            let newest = try await WebPageTests.exchange(herald, "GET", "/", cookie: cookie)
            #expect(newest.components(separatedBy: "<tr data-seq=").count - 1 == 100)
            #expect(newest.contains(#"id="event-rows""#))
            let older = try #require(newest.firstMatch(of: #/href="(/\?cursor=\d+)"/#)?.output.1)
            let page = try await WebPageTests.exchange(herald, "GET", String(older), cookie: cookie)
            #expect(page.components(separatedBy: "<tr data-seq=").count - 1 == 100)
            #expect(!page.contains(#"id="event-rows""#), "an older page does not follow arriving events")
        }
    }

    @Test("a page of events also ends at about 4 MB of them, with a nextCursor; a token cancel lists 1,000 run ids and counts them all")
    func largeEventsAndManyRuns() async throws {
        try await LiveHerald.run { herald in
            let padding = String(repeating: "x", count: 30_000)
            let events = (0..<200).map { P.track("Large", user: "u", id: "big-\($0)", properties: #"{"text":"\#(padding)"}"#) }
            for start in stride(from: 0, to: events.count, by: 10) {  // 300 KB per request
                try await herald.ingest(contentsOf: Array(events[start..<start + 10]))
            }
            let first = try await herald.api("/api/events?limit=1000")
            let shown = first["events"]?.arrayValue?.count ?? 0
            #expect((100..<200).contains(shown), "\(shown) events of 30 KB on the first page")
            let pages = try await Self.allPages(herald, "/api/events", key: "events", limit: 1000)
            #expect(pages.count >= 2)
            #expect(Set(pages.flatMap { $0 }.compactMap { $0["messageId"]?.stringValue }).count == 200)

            try await herald.applyConfiguration(P.configuration)
            let carts = (0..<1_001).map { P.track("Cart Abandoned", user: "shopper", id: "cart-\($0)") }
            try await Self.ingest(herald, carts)
            var pending = 0
            for _ in 0..<600 {
                pending = try await herald.store.runs(workspace: "default", matching: RunQuery(state: "pending", limit: 2_000)).count
                if pending == 1_001 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(pending == 1_001)
            let cancelled = try await herald.post("/api/runs/cancel", #"{"token":"cart-shopper"}"#, auth: .bearer(herald.adminKey))
            #expect(cancelled.status == 200)
            #expect(cancelled.json?["cancelledCount"] == 1_001)
            #expect(cancelled.json?["cancelled"]?.arrayValue?.count == 1_000)
        }
    }
}
