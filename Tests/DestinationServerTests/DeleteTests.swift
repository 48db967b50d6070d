import AutomationEngine
import SegmentSpec
import Testing

@Suite("delete (GDPR/CCPA) erases the user's data and keeps no personal data of it")
struct DeleteTests {
    @Test("a delete erases the user's events in that workspace only, and records the erasure")
    func erasesUser() async throws {
        try await LiveHerald.run { herald in
            let other = try await herald.store.createKey(workspace: "other", scope: .ingest)
            for id in ["d-1", "d-2"] {
                #expect(try await herald.post("/inbound/segment", Payloads.track(id, userId: "gone@example.com"), auth: .basic(herald.ingestKey)).status == 200)
            }
            #expect(try await herald.post("/inbound/segment", Payloads.track("d-3", userId: "stays"), auth: .basic(herald.ingestKey)).status == 200)
            #expect(try await herald.post("/inbound/segment", Payloads.track("d-4", userId: "gone@example.com"), auth: .basic(other.secret.plaintext)).status == 200)
            let reply = try await herald.post("/inbound/segment", try FixtureText.delete(userId: "gone@example.com"), auth: .basic(herald.ingestKey))
            #expect(reply.status == 200)
            let remaining = try await herald.store.recentEvents(workspace: "default")
            #expect(remaining.map(\.messageId).sorted() == ["d-3", "delete-1"])
            let record = try #require(remaining.first { $0.type == "delete" })
            #expect(record.userId == nil)
            #expect(!record.raw.contains("gone@example.com"))
            #expect(try await herald.store.eventCount(workspace: "other") == 1)
            let erasures = try await herald.store.erasures(workspace: "default")
            #expect(erasures.count == 1)
            #expect(erasures.first?.eventsErased == 2)
        }
    }
}

enum FixtureText {
    static func delete(userId: String) throws -> String {
        #"{"type":"delete","userId":"\#(userId)","messageId":"delete-1","context":{"library":{"name":"unknown","version":"unknown"}}}"#
    }
}
