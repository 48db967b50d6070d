import AutomationEngine
import SegmentSpec
import Testing

@Suite("Segment Event Tester payloads arrive and are read the Courier way")
struct EventTesterIngestTests {
    @Test("the tester's track is stored as track/Segment Test Event Name with data = properties")
    func track() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post("/inbound/segment", try Payloads.eventTesterTrack, auth: .basic(herald.ingestKey))
            #expect(reply.status == 200)
            #expect(reply.body == #"{"accepted":1,"duplicates":0,"rejected":[]}"#)
            let stored = try #require(try await herald.store.events(workspace: "default", messageId: "segment-test-message-a8rmf").first)
            #expect(stored.name == "track/Segment Test Event Name")
            #expect(stored.userId == "test-user-cqw3gr")
            #expect(stored.timestamp.iso8601 == "2021-12-07T08:41:59.410Z")
            #expect(stored.raw == (try Payloads.eventTesterTrack))  // byte for byte, unknown `projectId` included
            let event = try SegmentEvent(validating: try #require(stored.json?.objectValue))
            #expect(JSONValue.object(event.courierData).encodedString() == #"{"property1":1,"property2":"test","property3":true}"#)
        }
    }

    @Test("the tester's identify (its email at the top level and in traits) is accepted without a warning")
    func identify() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post("/inbound/segment", try Payloads.eventTesterIdentify, auth: .basic(herald.ingestKey))
            #expect(reply.status == 200)
            let stored = try #require(try await herald.store.events(workspace: "default", messageId: "segment-test-message-iskh4123").first)
            #expect(stored.name == "identify")
            #expect(stored.warnings.isEmpty)
        }
    }

    @Test("pressing Send Event twice stores the tester's message twice (tester ids are exempt from dedup)")
    func testerExemptFromDedup() async throws {
        try await LiveHerald.run { herald in
            for _ in 0..<2 {
                let reply = try await herald.post("/inbound/segment", try Payloads.eventTesterTrack, auth: .basic(herald.ingestKey))
                #expect(reply.json?["accepted"] == 1)
            }
            #expect(try await herald.store.events(workspace: "default", messageId: "segment-test-message-a8rmf").count == 2)
        }
    }
}
