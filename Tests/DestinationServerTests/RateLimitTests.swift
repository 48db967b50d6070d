import AutomationEngine
import DestinationServer
import SegmentSpec
import Testing

@Suite("Per-workspace rate limit: 429 with Retry-After, off by default")
struct RateLimitTests {
    @Test("past the workspace's limit requests get 429 with Retry-After; other workspaces are unaffected")
    func limited() async throws {
        try await LiveHerald.run(configure: { $0.rateLimitRefresh = .zero }) { herald in
            let other = try await herald.store.createKey(workspace: "other", scope: .ingest)
            try await herald.store.setRateLimit(workspace: "default", eventsPerSecond: 5)
            var statuses: [Int] = []
            var lastRefusal: LiveHerald.Reply?
            for n in 0..<8 {
                let reply = try await herald.post("/inbound/segment", Payloads.track("rl-\(n)"), auth: .basic(herald.ingestKey))
                statuses.append(reply.status)
                if reply.status == 429 { lastRefusal = reply }
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 200 })
            #expect(statuses.contains(429))
            let refusal = try #require(lastRefusal)
            #expect(refusal.header("Retry-After") == "1")
            #expect(refusal.message == "workspace default is limited to 5 events per second; retry after 1 s")
            #expect(try await herald.store.eventCount(workspace: "default") == statuses.filter { $0 == 200 }.count)
            #expect(try await herald.post("/inbound/segment", Payloads.track("rl-other"), auth: .basic(other.secret.plaintext)).status == 200)
            try await herald.store.setRateLimit(workspace: "default", eventsPerSecond: nil)
            #expect(try await herald.post("/inbound/segment", Payloads.track("rl-free"), auth: .basic(herald.ingestKey)).status == 200)
        }
    }
}
