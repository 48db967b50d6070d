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
            try await herald.store.setRateLimit(workspace: "default", eventsPerSecond: 1)
            // A full bucket lets one oversized batch through; it leaves the bucket 99 events in debt.
            let batch = "[" + (0..<100).map { Payloads.track("rl-\($0)") }.joined(separator: ",") + "]"
            let start = ContinuousClock.now
            #expect(try await herald.post("/inbound/segment", batch, auth: .basic(herald.ingestKey)).status == 200)
            let refusal = try await herald.post("/inbound/segment", Payloads.track("rl-next"), auth: .basic(herald.ingestKey))
            let elapsed = Int((ContinuousClock.now - start).components.seconds)
            #expect(refusal.status == 429)
            // 99 events of debt at 1 event/s, less what refilled meanwhile (a loaded machine can take seconds).
            let retryAfter = try #require(refusal.header("Retry-After").flatMap(Int.init))
            #expect(retryAfter >= 99 - elapsed - 1 && retryAfter <= 100, "Retry-After \(retryAfter) after \(elapsed) s")
            #expect(refusal.message == "workspace default is limited to 1 events per second; retry after \(retryAfter) s")
            #expect(try await herald.store.eventCount(workspace: "default") == 100)
            // A batch with nothing valid in it has nothing to limit: 200 with its rejections.
            let nothingValid = try await herald.post("/inbound/segment", #"[{"type":"track","userId":"u"}]"#, auth: .basic(herald.ingestKey))
            #expect(nothingValid.status == 200, "\(nothingValid.body)")
            #expect(nothingValid.json?["rejected"]?.arrayValue?.count == 1)
            #expect(try await herald.post("/inbound/segment", Payloads.track("rl-other"), auth: .basic(other.secret.plaintext)).status == 200)
            try await herald.store.setRateLimit(workspace: "default", eventsPerSecond: nil)
            #expect(try await herald.post("/inbound/segment", Payloads.track("rl-free"), auth: .basic(herald.ingestKey)).status == 200)
        }
    }
}
