import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("Ingest authentication: Basic with empty password, Bearer, writeKey; 401 otherwise")
struct AuthenticationTests {
    static let endpoints: [(path: String, body: String)] = [
        ("/inbound/segment", #"{"type":"track","event":"A","userId":"u"}"#),
        ("/v1/track", #"{"event":"A","userId":"u"}"#),
        ("/v1/identify", #"{"userId":"u","traits":{"email":"a@example.com"}}"#),
        ("/v1/page", #"{"name":"Home","userId":"u"}"#),
        ("/v1/screen", #"{"name":"Feed","userId":"u"}"#),
        ("/v1/group", #"{"groupId":"g","userId":"u"}"#),
        ("/v1/alias", #"{"previousId":"p","userId":"u"}"#),
        ("/v1/batch", #"{"batch":[{"type":"track","event":"A","userId":"u"}]}"#),
        ("/v1/import", #"{"batch":[{"type":"track","event":"A","userId":"u"}]}"#),
        ("/v1/b", #"{"batch":[{"type":"track","event":"A","userId":"u"}]}"#),
    ]

    @Test("every endpoint accepts every auth style and stores the event")
    func everyEndpointEveryStyle() async throws {
        try await LiveHerald.run { herald in
            var expected = 0
            for (path, body) in Self.endpoints {
                for style in ["basic", "basic-password", "bearer", "writeKey", "admin-key"] {
                    let reply: LiveHerald.Reply
                    switch style {
                    case "basic": reply = try await herald.post(path, body, auth: .basic(herald.ingestKey))
                    case "basic-password": reply = try await herald.post(path, body, auth: .basic(herald.ingestKey, password: "ignored"))
                    case "bearer": reply = try await herald.post(path, body, auth: .bearer(herald.ingestKey))
                    case "admin-key": reply = try await herald.post(path, body, auth: .bearer(herald.adminKey))
                    default:
                        let withKey = "{\"writeKey\":\"\(herald.ingestKey)\"," + body.dropFirst()
                        reply = try await herald.post(path, withKey, auth: .none)
                    }
                    #expect(reply.status == 200, "\(path) with \(style): \(reply.body)")
                    expected += 1
                }
            }
            #expect(try await herald.store.eventCount(workspace: "default") == expected)
        }
    }

    @Test("missing, unknown and malformed credentials get 401 with the Basic challenge and a message")
    func refused() async throws {
        try await LiveHerald.run { herald in
            let cases: [(LiveHerald.Auth, [(String, String)], String, String)] = [
                (.none, [], Payloads.track(), "missing API key"),
                (.basic("hk_unknown"), [], Payloads.track(), "API key is unknown or revoked"),
                (.bearer("nope"), [], Payloads.track(), "API key is unknown or revoked"),
                (.none, [("Authorization", "Digest abc")], Payloads.track(), "Authorization scheme digest is not supported"),
                (.none, [("Authorization", "Basic %%%")], Payloads.track(), "not valid base64"),
                (.none, [("Authorization", "Basic " + Data(":pw".utf8).base64EncodedString())], Payloads.track(), "carry no API key"),
                (.none, [], #"{"writeKey":"wrong","type":"track","event":"A","userId":"u"}"#, "API key is unknown or revoked"),
                // No key anywhere: a malformed body is not parsed for the caller's benefit.
                (.none, [], #"{"type":"track","event":"#, "missing API key"),
            ]
            for (auth, headers, body, message) in cases {
                let reply = try await herald.post("/inbound/segment", body, auth: auth, headers: headers)
                #expect(reply.status == 401)
                #expect(reply.header("WWW-Authenticate") == #"Basic realm="herald""#)
                #expect(reply.message?.contains(message) == true, "\(reply.body)")
            }
            #expect(try await herald.store.eventCount() == 0)
        }
    }

    @Test("a revoked key is refused from the next request on, even after it was used")
    func revocation() async throws {
        try await LiveHerald.run { herald in
            #expect(try await herald.post("/inbound/segment", Payloads.track(), auth: .basic(herald.ingestKey)).status == 200)
            let keys = try await herald.store.listKeys(workspace: "default")
            let ingest = try #require(keys.first { $0.scope == .ingest })
            try await herald.store.revokeKey(id: ingest.id)
            // A batch with nothing valid to write is refused too (the cached key is re-checked).
            let invalidOnly = try await herald.post("/inbound/segment", #"[{"type":"track","userId":"u"}]"#, auth: .basic(herald.ingestKey))
            #expect(invalidOnly.status == 401)
            let reply = try await herald.post("/inbound/segment", Payloads.track(), auth: .basic(herald.ingestKey))
            #expect(reply.status == 401)
            #expect(try await herald.post("/v1/track", #"{"event":"A","userId":"u"}"#, auth: .bearer(herald.ingestKey)).status == 401)
            #expect(try await herald.store.eventCount() == 1)
        }
    }

    @Test("a revoked key gets 401 for requests refused before the writer too, not a valid key's answer", arguments: [
        ("/inbound/segment", #"{"type":"track","userId":"u"}"#),  // invalid event: 400 for a valid key
        ("/inbound/segment", #"{"type":"purchase","userId":"u"}"#),  // unknown type: 501
        ("/inbound/segment", #"{"type":"#),  // not JSON: 400
        ("/v1/track", "[]"),  // wrong shape: 400
    ])
    func revokedKeyRefusedBeforeTheWriter(path: String, body: String) async throws {
        try await LiveHerald.run { herald in
            // Used once, so the server remembers it as valid; then revoked behind its back.
            #expect(try await herald.post("/inbound/segment", Payloads.track(), auth: .basic(herald.ingestKey)).status == 200)
            let ingest = try #require(try await herald.store.listKeys(workspace: "default").first { $0.scope == .ingest })
            try await herald.store.revokeKey(id: ingest.id)
            let refused = try await herald.post(path, body, auth: .basic(herald.ingestKey))
            #expect(refused.status == 401, "\(refused.body)")
            #expect(refused.header("WWW-Authenticate") == #"Basic realm="herald""#)
            #expect(refused.message == "API key is unknown or revoked")
        }
    }

    @Test("an ingest key on the management API gets 403; an admin key reads its workspace's events")
    func scopes() async throws {
        try await LiveHerald.run { herald in
            #expect(try await herald.post("/inbound/segment", Payloads.track(), auth: .basic(herald.ingestKey)).status == 200)
            let forbidden = try await herald.get("/api/events", auth: .bearer(herald.ingestKey))
            #expect(forbidden.status == 403)
            #expect(forbidden.message?.contains("needs an `admin` key") == true)
            #expect(try await herald.get("/api/events").status == 401)
            let listed = try await herald.get("/api/events", auth: .basic(herald.adminKey))
            #expect(listed.status == 200)
            #expect(listed.json?["events"]?.arrayValue?.count == 1)
        }
    }

    @Test("keys of one workspace never see another's events")
    func workspaceIsolation() async throws {
        try await LiveHerald.run { herald in
            let other = try await herald.store.createKey(workspace: "staging", scope: .admin)
            #expect(try await herald.post("/inbound/segment", Payloads.track("same-id"), auth: .basic(herald.ingestKey)).status == 200)
            #expect(try await herald.post("/inbound/segment", Payloads.track("same-id"), auth: .basic(other.secret.plaintext)).status == 200)
            #expect(try await herald.store.eventCount(workspace: "default") == 1)
            #expect(try await herald.store.eventCount(workspace: "staging") == 1)
            let listed = try await herald.get("/api/events", auth: .bearer(other.secret.plaintext))
            #expect(listed.json?["events"]?.arrayValue?.count == 1)
        }
    }
}
