import AutomationEngine
import DestinationServer
import Foundation
import GRDB
import Testing

@Suite("When Herald cannot take an event now: 503 with Retry-After, and nothing half-written")
struct UnavailableTests {
    @Test("a full ingest queue answers 503 with Retry-After; the queued requests still commit")
    func queueFull() async throws {
        try await LiveHerald.run(configure: { $0.ingestQueueCapacity = 1 }) { herald in
            let path = try #require(herald.store.path)
            let lock = try WriteLockHolder(path: path)
            // The first request is taken into a commit, which waits for the lock; the second
            // waits in the queue, which is then full.
            async let first = herald.post("/inbound/segment", Payloads.track("queued-1"), auth: .basic(herald.ingestKey))
            try await Task.sleep(for: .milliseconds(300))
            async let second = herald.post("/inbound/segment", Payloads.track("queued-2"), auth: .basic(herald.ingestKey))
            try await Task.sleep(for: .milliseconds(300))
            let refused = try await herald.post("/inbound/segment", Payloads.track("refused"), auth: .basic(herald.ingestKey))
            lock.release()
            #expect(refused.status == 503, "\(refused.body)")
            #expect(refused.header("Retry-After") == "1")
            #expect(refused.message == "Herald is taking in more events than it can write; retry shortly")
            #expect(try await first.status == 200)
            #expect(try await second.status == 200)
            let stored = try await herald.store.messageIdCounts(workspace: "default")
            #expect(stored == ["queued-1": 1, "queued-2": 1])
        }
    }

    @Test("a database that fails: /health and ingest answer 503 with Retry-After, never 500")
    func storeFails() async throws {
        try await LiveHerald.run { herald in
            #expect(try await herald.post("/inbound/segment", Payloads.track("before"), auth: .basic(herald.ingestKey)).status == 200)
            try #require(herald.store.writer as? DatabasePool).close()
            let health = try await herald.get("/health")
            #expect(health.status == 503)
            #expect(health.header("Retry-After") == "5")
            #expect(health.message == "the database does not answer")
            let ingest = try await herald.post("/inbound/segment", Payloads.track("during"), auth: .basic(herald.ingestKey))
            #expect(ingest.status == 503, "\(ingest.body)")
            #expect(ingest.header("Retry-After") == "5")
            #expect(ingest.message?.hasPrefix("the event store is unavailable (") == true, "\(ingest.body)")
        }
    }
}
