import AutomationEngine
import DestinationServer
import Foundation
import GRDB
import HeraldTestSupport
import Testing

@Suite("When Herald cannot take an event now: 503 with Retry-After, and nothing half-written")
struct UnavailableTests {
    @Test("a full ingest queue answers 503 with Retry-After; the queued requests still commit")
    func queueFull() async throws {
        try await LiveHerald.run(configure: { $0.ingestQueueCapacity = 1 }) { herald in
            let lock = try WriteLockHolder(path: try #require(herald.store.path))
            // While the lock is held the first request's commit waits for it and the next one
            // waits in the queue, which is then full: a request sent after that is refused.
            // Requests go out every 200 ms until one is; the lock is released well before
            // SQLite's 10 s busy timeout would fail the waiting commit instead.
            let replies = ConcurrentLog<(messageId: String, reply: LiveHerald.Reply)>()
            var requests: [Task<Void, any Error>] = []
            for n in 0..<20 where !replies.values.contains(where: { $0.reply.status == 503 }) {
                requests.append(Task {
                    let reply = try await herald.post("/inbound/segment", Payloads.track("queued-\(n)"), auth: .basic(herald.ingestKey))
                    replies.append(("queued-\(n)", reply))
                })
                try await Task.sleep(for: .milliseconds(200))
            }
            lock.release()
            for request in requests { try await request.value }
            let all = replies.values
            let refusals = all.filter { $0.reply.status == 503 }.map(\.reply)
            #expect(!refusals.isEmpty)
            for refusal in refusals {
                #expect(refusal.header("Retry-After") == "1")
                #expect(refusal.message == "Herald is taking in more events than it can write; retry shortly")
            }
            let accepted = all.filter { $0.reply.status == 200 }.map(\.messageId)
            #expect(accepted.count + refusals.count == all.count)
            #expect(!accepted.isEmpty)  // (which ones depends on the order they reached the server in)
            let stored = try await herald.store.messageIdCounts(workspace: "default")
            #expect(stored == Dictionary(uniqueKeysWithValues: accepted.map { ($0, 1) }))
        }
    }

    @Test("a database that fails: /health and ingest answer 503 with Retry-After, never 500")
    func storeFails() async throws {
        // The rate limits are read again on every request, so that read fails too.
        try await LiveHerald.run(configure: { $0.rateLimitRefresh = .zero }) { herald in
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
