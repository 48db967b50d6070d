import AutomationEngine
import Foundation
import NIOHTTP1
import SegmentSpec
import Testing

@Suite("Management API: configuration, keys, workspace isolation")
struct ManagementConfigurationTests {
    typealias P = ManagementPayloads

    @Test("configuration: 404 before any, 422 with line and column when invalid, versions kept, YAML and JSON views")
    func configurationVersions() async throws {
        try await LiveHerald.run { herald in
            let none = try await herald.get("/api/config", auth: .bearer(herald.adminKey))
            #expect(none.status == 404)
            #expect(none.message?.contains("herald apply") == true)

            let invalid = "channels:\n  inbox: { type: inbox }\nmappings:\n  - on: identify\n    run: nowhere\n"
            let refused = try await herald.request(.PUT, "/api/config", body: invalid, auth: .bearer(herald.adminKey))
            #expect(refused.status == 422)
            let issue = try #require(refused.json?["issues"]?[0])
            #expect(issue["line"] == 5)
            #expect(issue["message"]?.stringValue?.contains("nowhere") == true)
            #expect(refused.message?.contains("line 5") == true)
            #expect(try await herald.get("/api/config/versions", auth: .bearer(herald.adminKey)).json?["versions"] == [])
            // An empty document would silently stop every automation.
            let empty = try await herald.request(.PUT, "/api/config", body: "# nothing yet\n", auth: .bearer(herald.adminKey))
            #expect(empty.status == 422)
            #expect(empty.message?.contains("empty") == true)

            try await herald.applyConfiguration(P.configuration)
            let second = P.configuration.replacingOccurrences(of: "data.revenue > 0", with: "data.revenue > 10")
            let applied = try await herald.request(.PUT, "/api/config", body: second, auth: .bearer(herald.adminKey))
            #expect(applied.status == 201)
            #expect(applied.json?["version"] == 2)

            let current = try await herald.api("/api/config")
            #expect(current["version"] == 2)
            #expect(current["yaml"]?.stringValue == second)
            #expect(current["json"]?["automations"]?["remind"]?["cancellation_token"] == "cart-{{event.userId}}")
            #expect(current["json"]?["mappings"]?[0]?["when"] == "data.revenue > 10")
            let yaml = try await herald.get("/api/config?format=yaml", auth: .bearer(herald.adminKey))
            #expect(yaml.header("Content-Type")?.hasPrefix("application/yaml") == true)
            #expect(yaml.body == second)

            #expect(try await herald.api("/api/config/versions")["versions"]?.arrayValue?.map { $0["version"] } == [2, 1])
            #expect(try await herald.api("/api/config/versions/1")["yaml"]?.stringValue == P.configuration)
            #expect(try await herald.get("/api/config/versions/7", auth: .bearer(herald.adminKey)).status == 404)
            #expect(try await herald.get("/api/config/versions/one", auth: .bearer(herald.adminKey)).status == 400)

            let mappings = try await herald.api("/api/mappings")["mappings"]?.arrayValue ?? []
            #expect(mappings.map { $0["on"] } == ["track/Order Completed", "track/Cart Abandoned"])
            #expect(try await herald.api("/api/channels")["channels"] == [["name": "inbox", "type": "inbox"]])
            #expect(try await herald.api("/api/automations")["automations"]?.arrayValue?.map { $0["name"] } == ["confirm", "remind"])
            #expect(try await herald.api("/api/templates")["templates"]?[1]?["name"] == "reminder")
            // JSON is YAML too: a configuration can be sent as JSON.
            let json = #"{"channels":{"log":{"type":"log"}},"templates":{},"automations":{},"mappings":[]}"#
            #expect(try await herald.request(.PUT, "/api/config", body: json, auth: .bearer(herald.adminKey)).json?["version"] == 3)
        }
    }

    @Test("keys: listed without secrets, created once-shown and usable, revoked at once; another workspace's key is not found")
    func keys() async throws {
        try await LiveHerald.run { herald in
            let listed = try await herald.api("/api/keys")["keys"]?.arrayValue ?? []
            #expect(Set(listed.compactMap { $0["scope"]?.stringValue }) == ["ingest", "admin"])
            #expect(!(try await herald.get("/api/keys", auth: .bearer(herald.adminKey)).body.contains(herald.ingestKey)))

            let created = try await herald.request(.POST, "/api/keys", body: #"{"scope":"ingest"}"#, auth: .bearer(herald.adminKey))
            #expect(created.status == 201)
            let key = try #require(created.json?["key"]?.stringValue)
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(key.hasPrefix(id))
            #expect(try await herald.post("/v1/track", P.track("Signed Up", user: "u", id: "k-1"), auth: .basic(key)).status == 200)
            #expect(try await herald.request(.DELETE, "/api/keys/\(id)", auth: .bearer(herald.adminKey)).json?["revokedAt"] != .null)
            #expect(try await herald.post("/v1/track", P.track("Signed Up", user: "u", id: "k-2"), auth: .basic(key)).status == 401)

            // Another site's page cannot use credentials a browser may have cached for the API.
            let crossSite = try await herald.request(.POST, "/api/keys", body: #"{"scope":"admin"}"#, auth: .basic(herald.adminKey),
                                                     headers: [("Sec-Fetch-Site", "cross-site")])
            #expect(crossSite.status == 403)
            let bad = try await herald.request(.POST, "/api/keys", body: #"{"scope":"root"}"#, auth: .bearer(herald.adminKey))
            #expect(bad.status == 400)
            #expect(bad.message?.contains("scope") == true)
            let other = try await herald.store.createKey(workspace: "acme", scope: .ingest)
            let foreign = try await herald.request(.DELETE, "/api/keys/\(other.record.id)", auth: .bearer(herald.adminKey))
            #expect(foreign.status == 404)
            #expect(try await herald.store.listKeys(workspace: "acme").first?.revokedAt == nil)
        }
    }

    @Test("PUT /api/config applies a file with a mapping no event can match and lists the warning at its line")
    func warningsInTheAnswer() async throws {
        try await LiveHerald.run { herald in
            let yaml = "automations:\n  a: { steps: [ { update-profile: { x: 1 } } ] }\nmappings:\n  - on: Signed Up\n    run: a\n"
            let reply = try await herald.request(.PUT, "/api/config", body: yaml, auth: .bearer(herald.adminKey), contentType: "application/yaml")
            #expect(reply.status == 201, "\(reply.body)")
            let warning = try #require(reply.json?["warnings"]?.arrayValue?.first)
            #expect(warning["line"] == 4)
            #expect(warning["column"] == 9)
            #expect(warning["message"]?.stringValue?.hasPrefix("`on: Signed Up` can never match") == true)
            let clean = try await herald.request(.PUT, "/api/config", body: yaml.replacingOccurrences(of: "Signed Up", with: "track/Signed Up"), auth: .bearer(herald.adminKey), contentType: "application/yaml")
            #expect(clean.json?["warnings"] == [])
        }
    }

    @Test("PUT /api/config with the text in force stores no new version: 200 with \"unchanged\": true and that version")
    func unchangedConfiguration() async throws {
        try await LiveHerald.run { herald in
            let first = try await herald.request(.PUT, "/api/config", body: P.configuration, auth: .bearer(herald.adminKey))
            #expect(first.status == 201)
            #expect(first.json?["version"] == 1)
            #expect(first.json?["unchanged"] == false)
            let again = try await herald.request(.PUT, "/api/config", body: P.configuration, auth: .bearer(herald.adminKey))
            #expect(again.status == 200, "\(again.body)")
            #expect(again.json?["version"] == 1)
            #expect(again.json?["unchanged"] == true)
            #expect(again.json?["appliedAt"] == first.json?["appliedAt"])
            #expect(try await herald.api("/api/config/versions")["versions"]?.arrayValue?.map { $0["version"] } == [1])
            // Another text is a new version, and going back to the first one is one too.
            let changed = P.configuration + "\n# reviewed\n"
            #expect(try await herald.request(.PUT, "/api/config", body: changed, auth: .bearer(herald.adminKey)).json?["version"] == 2)
            let back = try await herald.request(.PUT, "/api/config", body: P.configuration, auth: .bearer(herald.adminKey))
            #expect(back.status == 201)
            #expect(back.json?["version"] == 3)
            // An invalid text is still refused, even when nothing would change.
            #expect(try await herald.request(.PUT, "/api/config", body: "mappings: [ { on: x, run: ghost } ]", auth: .bearer(herald.adminKey)).status == 422)
        }
    }

    @Test("a workspace holds at most 100 active keys: the next POST /api/keys is a 409 naming the limit; a revoked key makes room")
    func keyLimit() async throws {
        try await LiveHerald.run { herald in
            // Two keys come with the workspace.
            for _ in 0..<98 {
                let created = try await herald.request(.POST, "/api/keys", body: #"{"scope":"ingest"}"#, auth: .bearer(herald.adminKey))
                #expect(created.status == 201)
            }
            let refused = try await herald.request(.POST, "/api/keys", body: #"{"scope":"admin"}"#, auth: .bearer(herald.adminKey))
            #expect(refused.status == 409)
            #expect(refused.message == "workspace default has 100 active keys, the most a workspace may have; revoke one it no longer needs first")
            #expect(try await herald.store.listKeys(workspace: "default").count == 100)
            // Another workspace has its own allowance.
            #expect(try await herald.store.createKey(workspace: "acme", scope: .admin).record.workspaceId == "acme")

            let spare = try #require(try await herald.store.listKeys(workspace: "default").last)
            #expect(try await herald.request(.DELETE, "/api/keys/\(spare.id)", auth: .bearer(herald.adminKey)).status == 200)
            #expect(try await herald.request(.POST, "/api/keys", body: #"{"scope":"ingest"}"#, auth: .bearer(herald.adminKey)).status == 201)
            #expect(try await herald.request(.POST, "/api/keys", body: #"{"scope":"ingest"}"#, auth: .bearer(herald.adminKey)).status == 409)
        }
    }

    @Test("no route shows another workspace's data")
    func workspaceIsolation() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(P.configuration)
            try await herald.ingest(
                P.identify(user: "u-1", id: "i-1", traits: #"{"first_name":"Ada"}"#),
                #"{"type":"group","userId":"u-1","groupId":"g-1","messageId":"g-1"}"#,
                P.track("Order Completed", user: "u-1", id: "paid", properties: #"{"order_id":"o-1","revenue":5}"#),
                P.track("Cart Abandoned", user: "u-1", id: "cart"))
            try await herald.waitForEngine()
            let run = try #require(try await herald.api("/api/runs")["runs"]?[0]?["id"]).encodedString()
            #expect(try await AutomationEndToEndTests.eventually {
                try await herald.api("/api/messages")["messages"]?[0] != nil
            })
            let messageId = try #require(try await herald.api("/api/messages")["messages"]?[0]?["id"]?.stringValue)
            let seq = try #require(try await herald.api("/api/events")["events"]?[0]?["seq"]).encodedString()

            let outsider = try await herald.store.createKey(workspace: "acme", scope: .admin).secret.plaintext
            func status(_ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> LiveHerald.Reply {
                try await herald.request(method, path, body: body, auth: .bearer(outsider))
            }
            for path in ["/api/events", "/api/runs", "/api/messages", "/api/unmapped", "/api/config/versions"] {
                let reply = try await status(.GET, path)
                #expect(reply.status == 200)
                let lists = reply.json?.objectValue?.members.compactMap { $0.value.arrayValue } ?? []
                let empty = lists.allSatisfy { $0.isEmpty }
                #expect(empty, "\(path) leaked: \(reply.body)")
            }
            for path in ["/api/events/\(seq)", "/api/profiles/u-1", "/api/profiles/u-1/events", "/api/groups/g-1", "/api/runs/\(run)",
                         "/api/messages/\(messageId)", "/api/config", "/api/mappings"] {
                #expect(try await status(.GET, path).status == 404, "\(path)")
            }
            #expect(try await status(.GET, "/api/inbox/u-1").json?["messages"] == [])
            #expect(try await status(.POST, "/api/runs/\(run)/cancel").status == 404)
            #expect(try await status(.POST, "/api/inbox/u-1/\(messageId)/read").status == 404)
            #expect(try await status(.POST, "/api/runs/cancel", #"{"token":"cart-u-1"}"#).json?["cancelled"] == [])
            #expect(try await herald.api("/api/runs/\(run)")["state"] == "pending")
            #expect(try await status(.GET, "/api/keys").json?["keys"]?.arrayValue?.count == 1)
        }
    }
}
