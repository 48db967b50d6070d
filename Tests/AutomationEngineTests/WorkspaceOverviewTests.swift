@testable import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

/// The overview the page draws: events counted in the minute they arrived, messages by
/// channel and status, and the events the engine has not processed yet.
@Suite("Workspace overview: events per minute, sends by channel and status, engine backlog")
struct WorkspaceOverviewTests {
    static let configuration = """
        channels:
          feed: { type: inbox }
          hook: { type: webhook, url: "https://hook.example.com/send" }
        templates:
          note: { channel: feed, body: "n" }
          ping: { channel: hook, body: "p" }
        automations:
          notify: { steps: [ { send: note }, { send: ping } ] }
        mappings:
          - { on: track/Ordered, run: notify }
        """

    static func append(_ count: Int, at ms: Int64, store: HeraldStore, key: Data, workspace: String = "default", prefix: String) async throws {
        let events = try (0..<count).map { n in
            let json = #"{"type":"track","event":"Ordered","userId":"u-\#(n)","messageId":"\#(prefix)-\#(n)"}"#
            let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
            return IngestEvent(event: event, raw: Array(json.utf8), workspaceId: workspace, receivedAt: Timestamp(millisecondsSince1970: ms))
        }
        _ = try await store.appendSubmissions([(key, events)], dedupWindow: 0)
    }

    @Test("events fall in the minute they arrived; messages count by channel and status; unprocessed events are the backlog")
    func overview() async throws {
        let store = try HeraldStore.inMemory()
        try await store.applyConfiguration(yaml: Self.configuration, workspace: "default", secrets: .none)
        let key = try await store.createKey(workspace: "default", scope: .ingest).secret.hash
        let now: Int64 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000 + 30_000  // half a minute into a minute
        try await Self.append(3, at: now - 5 * 60_000, store: store, key: key, prefix: "old")  // five minutes ago
        try await Self.append(2, at: now - 1_000, store: store, key: key, prefix: "new")  // this minute
        try await Self.append(4, at: now - 2 * 3_600_000, store: store, key: key, prefix: "hours")  // outside the hour
        _ = try await EventProcessor(store: store, now: { Timestamp(millisecondsSince1970: now) }).processPending()
        _ = try await RunWorker(store: store, now: { Timestamp(millisecondsSince1970: now) }).executeDue(limit: 1_000)
        // Two more that the engine has not seen.
        try await Self.append(2, at: now, store: store, key: key, prefix: "late")

        let overview = try await store.overview(workspace: "default", minutes: 60, messageWindow: .seconds(86_400), now: Timestamp(millisecondsSince1970: now))
        #expect(overview.eventsPerMinute.count == 60)
        #expect(overview.eventsPerMinute.last == 4, "this minute: the 2 processed and the 2 waiting")
        #expect(overview.eventsPerMinute[54] == 3, "five minutes before the last minute")
        #expect(overview.eventsPerMinute.reduce(0, +) == 7, "the events two hours ago are outside the hour")
        // 9 processed events started 9 runs: 9 inbox messages sent, 9 webhook messages queued.
        #expect(overview.messagesByChannelAndStatus == [
            .init(channel: "feed", status: "sent", count: 9), .init(channel: "hook", status: "queued", count: 9),
        ])
        #expect(overview.unprocessedEvents == 2)
        #expect(overview.oldestUnprocessedAt == Timestamp(millisecondsSince1970: now))

        let other = try await store.overview(workspace: "elsewhere", minutes: 60, messageWindow: .seconds(86_400), now: Timestamp(millisecondsSince1970: now))
        #expect(other.eventsPerMinute.reduce(0, +) == 0)
        #expect(other.messagesByChannelAndStatus.isEmpty)
        #expect(other.unprocessedEvents == 0)
    }
}
