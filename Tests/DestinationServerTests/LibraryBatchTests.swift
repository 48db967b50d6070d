import AutomationEngine
import CompressNIO
import Foundation
import NIOCore
import SegmentSpec
import Testing

@Suite("Batches the way Segment's libraries send them")
struct LibraryBatchTests {
    static func gzip(_ text: String) throws -> [UInt8] {
        var buffer = ByteBuffer(string: text)
        return Array(buffer: try buffer.compress(with: .gzip()))
    }

    @Test("analytics-python style: writeKey in the body, no Authorization, batch-level sentAt and context, gzip")
    func pythonStyleBatch() async throws {
        try await LiveHerald.run { herald in
            // The device clock runs 1 hour fast: originalTimestamp and sentAt are both off by an hour.
            let body = """
                {"batch":[
                  {"type":"identify","userId":"u-1","traits":{"first_name":"Ada"},"messageId":"py-1","timestamp":"2030-01-01T11:00:00.000+00:00"},
                  {"type":"track","event":"Order Completed","userId":"u-1","properties":{"revenue":10.0},"messageId":"py-2","timestamp":"2030-01-01T11:00:01.000+00:00"}
                ],
                "context":{"library":{"name":"analytics-python","version":"2.3.2"}},
                "sentAt":"2030-01-01T11:00:02.000+00:00",
                "writeKey":"\(herald.ingestKey)"}
                """
            let reply = try await herald.post("/v1/batch", try Self.gzip(body), auth: .none, headers: [("Content-Encoding", "gzip")])
            #expect(reply.status == 200)
            #expect(reply.body == #"{"success":true}"#)
            let identify = try #require(try await herald.store.events(workspace: "default", messageId: "py-1").first)
            let track = try #require(try await herald.store.events(workspace: "default", messageId: "py-2").first)
            // Corrected: receivedAt - (sentAt - timestamp) = receivedAt - 2 s and receivedAt - 1 s.
            #expect(identify.receivedAt.millisecondsSince1970 - identify.timestamp.millisecondsSince1970 == 2000)
            #expect(track.receivedAt.millisecondsSince1970 - track.timestamp.millisecondsSince1970 == 1000)
            #expect(track.json?["context"]?["library"]?["name"] == "analytics-python")
            #expect(track.json?["properties"]?["revenue"]?.numberValue?.literal == "10.0")
            #expect(!track.raw.contains(herald.ingestKey))
        }
    }

    @Test("a JSON array on /inbound/segment is accepted as a batch with per-event rejection")
    func arrayWithRejections() async throws {
        try await LiveHerald.run { herald in
            let body = #"[{"type":"track","event":"A","userId":"u","messageId":"a-1"},{"type":"group","userId":"u","messageId":"a-2"},{"type":"fly","userId":"u","messageId":"a-3"}]"#
            let reply = try await herald.post("/inbound/segment", body, auth: .basic(herald.ingestKey))
            #expect(reply.status == 200)
            #expect(reply.body == #"{"accepted":1,"duplicates":0,"rejected":[{"index":1,"messageId":"a-2","message":"group event requires `groupId`"},{"index":2,"messageId":"a-3","message":"unsupported event type: fly"}]}"#)
            #expect(try await herald.store.eventCount() == 1)
        }
    }

    @Test("X-Segment-Settings is decoded and stored with the event, its credentials redacted")
    func segmentSettings() async throws {
        try await LiveHerald.run { herald in
            let settings = Data(#"{"apiKey":"dest-setting","region":"eu","oauth":{"accessToken":"tok-1","scopes":["a"]}}"#.utf8).base64EncodedString()
            let reply = try await herald.post("/inbound/segment", Payloads.track("s-1"), auth: .basic(herald.ingestKey), headers: [("X-Segment-Settings", settings)])
            #expect(reply.status == 200)
            let stored = try #require(try await herald.store.events(workspace: "default", messageId: "s-1").first)
            #expect(stored.settings == #"{"apiKey":"[redacted]","region":"eu","oauth":"[redacted]"}"#)
            let shown = try await herald.get("/api/events", auth: .bearer(herald.adminKey)).body
            #expect(shown.contains(#""region":"eu""#))
            #expect(!shown.contains("dest-setting") && !shown.contains("tok-1"))
            _ = try await herald.post("/inbound/segment", Payloads.track("s-2"), auth: .basic(herald.ingestKey), headers: [("X-Segment-Settings", "%%%")])
            let bad = try #require(try await herald.store.events(workspace: "default", messageId: "s-2").first)
            #expect(bad.settings == nil)
            #expect(bad.warnings == ["X-Segment-Settings is not base64-encoded JSON; it was not stored"])
        }
    }

    @Test("X-Segment-Settings: bearer, pass, pwd, sig and a password inside a URL are redacted too, in the store and in every answer")
    func segmentSettingsByPattern() async throws {
        try await LiveHerald.run { herald in
            let settings = #"""
                {"bearer":"b-secret-1","pass":"p-secret-2","pwd":"p-secret-3","sig":"s-secret-4","region":"us-east-1",
                 "endpoint":"https://api.example.com/v1","webhookUrl":"https://hook:u-secret-5@hooks.example.com/in?token=t-secret-6&team=7",
                 "Destinations":[{"SharedSecret":"s-secret-7","signing_secret":"s-secret-8","mode":"cloud"}]}
                """#
            let reply = try await herald.post(
                "/inbound/segment", Payloads.track("sp-1"), auth: .basic(herald.ingestKey),
                headers: [("X-Segment-Settings", Data(settings.utf8).base64EncodedString())])
            #expect(reply.status == 200)
            let stored = try #require(try await herald.store.events(workspace: "default", messageId: "sp-1").first)
            let shown = try await herald.api("/api/events/\(stored.seq)")
            for text in [try #require(stored.settings), shown.encodedString(), try await herald.get("/api/events", auth: .bearer(herald.adminKey)).body] {
                for secret in (1...8).map({ "secret-\($0)" }) { #expect(!text.contains(secret), "\(secret) in \(text)") }
            }
            #expect(shown["settings"] == [
                "bearer": "[redacted]", "pass": "[redacted]", "pwd": "[redacted]", "sig": "[redacted]", "region": "us-east-1",
                "endpoint": "https://api.example.com/v1", "webhookUrl": "https://[redacted]@hooks.example.com/in?token=[redacted]&team=7",
                "Destinations": [["SharedSecret": "[redacted]", "signing_secret": "[redacted]", "mode": "cloud"]],
            ])
        }
    }
}
