import AutomationEngine
import DestinationServer
import SegmentSpec
import Testing

@Suite("Deduplication by (workspace, messageId): acknowledged, counted, not stored twice")
struct DeduplicationTests {
    @Test("a retry of the same event is a duplicate")
    func acrossRequests() async throws {
        try await LiveHerald.run { herald in
            let first = try await herald.post("/inbound/segment", Payloads.track("dup-1"), auth: .basic(herald.ingestKey))
            let retry = try await herald.post("/inbound/segment", Payloads.track("dup-1"), auth: .basic(herald.ingestKey))
            #expect(first.body == #"{"accepted":1,"duplicates":0,"rejected":[]}"#)
            #expect(retry.status == 200)
            #expect(retry.body == #"{"accepted":0,"duplicates":1,"rejected":[]}"#)
            #expect(try await herald.store.events(workspace: "default", messageId: "dup-1").count == 1)
        }
    }

    @Test("the same messageId twice in one batch is stored once")
    func withinRequest() async throws {
        try await LiveHerald.run { herald in
            let body = "[" + [Payloads.track("dup-2"), Payloads.track("dup-2"), Payloads.track("dup-3")].joined(separator: ",") + "]"
            let reply = try await herald.post("/inbound/segment", body, auth: .basic(herald.ingestKey))
            #expect(reply.body == #"{"accepted":2,"duplicates":1,"rejected":[]}"#)
            #expect(try await herald.store.eventCount() == 2)
        }
    }

    @Test("many concurrent retries of one event store it exactly once")
    func concurrentRetries() async throws {
        try await LiveHerald.run { herald in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await herald.post("/v1/track", #"{"event":"A","userId":"u","messageId":"race-1"}"#, auth: .basic(herald.ingestKey)).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 })
            #expect(try await herald.store.events(workspace: "default", messageId: "race-1").count == 1)
        }
    }

    @Test("past the dedup window, the same messageId is a new event again")
    func windowExpires() async throws {
        try await LiveHerald.run(configure: { $0.dedupWindow = .milliseconds(1) }) { herald in
            #expect(try await herald.post("/inbound/segment", Payloads.track("old-1"), auth: .basic(herald.ingestKey)).json?["accepted"] == 1)
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await herald.post("/inbound/segment", Payloads.track("old-1"), auth: .basic(herald.ingestKey)).json?["accepted"] == 1)
        }
    }
}
