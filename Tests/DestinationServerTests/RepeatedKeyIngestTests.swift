import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("A key repeated in an event's own object, context or traits: 400 for one event, rejected in a batch")
struct RepeatedKeyIngestTests {
    @Test("a single event with a repeated key is a 400 naming the key and where it is; nothing is stored", arguments: [
        ("/inbound/segment", #"{"type":"track","event":"A","userId":"victim","userId":"attacker","messageId":"r-1"}"#,
         "duplicate key `userId` in the event; send each key of an object once"),
        ("/v1/identify", #"{"userId":"u","traits":{"email":"a@example.com","email":"b@example.com"},"messageId":"r-2"}"#,
         "duplicate key `email` in `traits`; send each key of an object once"),
        ("/v1/track", #"{"event":"A","userId":"u","context":{"traits":{"plan":"free","plan":"pro"}},"messageId":"r-3"}"#,
         "duplicate key `plan` in `context.traits`; send each key of an object once"),
    ])
    func singleEvent(path: String, body: String, message: String) async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post(path, body, auth: .basic(herald.ingestKey))
            #expect(reply.status == 400, "\(reply.body)")
            #expect(reply.message == message, "\(reply.body)")
            #expect(try await herald.store.eventCount() == 0)
        }
    }

    @Test("in a batch the event with a repeated key is rejected with its index; the others are stored; properties may repeat keys")
    func batch() async throws {
        try await LiveHerald.run { herald in
            let body = """
                [{"type":"track","event":"A","userId":"u","messageId":"b-1"},
                 {"type":"track","event":"B","userId":"u","messageId":"b-2","context":{"ip":"1.1.1.1","ip":"2.2.2.2"}},
                 {"type":"track","event":"C","userId":"u","messageId":"b-3","properties":{"plan":"free","plan":"pro"}}]
                """
            let reply = try await herald.post("/inbound/segment", body, auth: .basic(herald.ingestKey))
            #expect(reply.status == 200)
            #expect(reply.json?["accepted"] == 2)
            #expect(reply.json?["rejected"] == [["index": 1, "messageId": "b-2", "message": "duplicate key `ip` in `context`; send each key of an object once"]])
            #expect(try await herald.store.events(workspace: "default", messageId: "b-2").isEmpty)
            // Segment's own traffic repeats keys in properties: taken, the last occurrence read (README).
            let stored = try #require(try await herald.store.events(workspace: "default", messageId: "b-3").first)
            #expect(stored.raw.contains(#""plan":"free","plan":"pro""#))
            let shown = try await herald.api("/api/events/\(stored.seq)")
            #expect(shown["data"]?["plan"] == "pro")

            let envelope = try await herald.post("/v1/batch", #"{"batch":[],"batch":[{"type":"track","event":"A","userId":"u"}]}"#, auth: .basic(herald.ingestKey))
            #expect(envelope.status == 400)
            #expect(envelope.message == "duplicate key `batch` in the batch envelope; send each key once")
        }
    }

    @Test("a dry run refuses the event Herald would refuse")
    func dryRun() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post(
                "/api/test", #"{"event":{"type":"track","event":"A","userId":"u","event":"B"}}"#, auth: .bearer(herald.adminKey))
            #expect(reply.status == 400)
            #expect(reply.message == "the event would be refused: duplicate key `event` in the event; send each key of an object once")
        }
    }
}
