@testable import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

/// How a claim shares what delivery can take between endpoints: never more than an endpoint
/// can take, nothing from a full or broken one, the endpoint with the oldest due message first.
@Suite("Delivery claims: per-endpoint capacity, oldest endpoint first")
struct DeliveryClaimTests {
    /// Three webhook channels; `track/To <channel>` queues one message on it.
    static let configuration = """
        channels:
          a: { type: webhook, url: "https://a.example.com/hook" }
          b: { type: webhook, url: "https://b.example.com/hook" }
          c: { type: webhook, url: "https://c.example.com/hook" }
        templates:
          ta: { channel: a, body: "a" }
          tb: { channel: b, body: "b" }
          tc: { channel: c, body: "c" }
        automations:
          sa: { steps: [ { send: ta } ] }
          sb: { steps: [ { send: tb } ] }
          sc: { steps: [ { send: tc } ] }
        mappings:
          - { on: track/To a, run: sa }
          - { on: track/To b, run: sb }
          - { on: track/To c, run: sc }
        """

    /// Queues `count` messages on `channel`, each due at `at`.
    static func queue(_ count: Int, on channel: String, at ms: Int64, store: HeraldStore, key: Data) async throws {
        let time = Timestamp(millisecondsSince1970: ms)
        let events = try (0..<count).map { n in
            let json = #"{"type":"track","event":"To \#(channel)","userId":"u-\#(n)","messageId":"\#(channel)-\#(ms)-\#(n)"}"#
            let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
            return IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: time)
        }
        _ = try await store.appendSubmissions([(key, events)], dedupWindow: 0)
        try await EventProcessor(store: store, now: { time }).processPending()
        try await RunWorker(store: store, now: { time }).executeDue(limit: 10_000)
    }

    @Test("a claim takes nothing from a full endpoint, at most each endpoint's free slots, oldest endpoint first, within the total")
    func capacityPerEndpoint() async throws {
        let store = try HeraldStore.inMemory()
        try await store.applyConfiguration(yaml: Self.configuration, workspace: "default")
        let key = try await store.createKey(workspace: "default", scope: .ingest).secret.hash
        // a's queue is the oldest and the longest: a full endpoint with a backlog.
        try await Self.queue(50, on: "a", at: 1_000, store: store, key: key)
        try await Self.queue(5, on: "c", at: 2_000, store: store, key: key)
        try await Self.queue(5, on: "b", at: 3_000, store: store, key: key)
        let a = DeliveryEndpoint(workspace: "default", channel: "a")

        let first = try await store.recordAndClaim(
            [], now: 10_000, capacity: DeliveryCapacity(total: 6, endpoints: [a: 0], otherwise: 4), leaseUntil: 20_000)
        #expect(first.map(\.message.channel) == ["c", "c", "c", "c", "b", "b"])

        // Leased messages are not claimed again; a, now free for 3, gives its oldest three.
        let second = try await store.recordAndClaim(
            [], now: 10_000, capacity: DeliveryCapacity(total: 100, endpoints: [a: 3], otherwise: 100), leaseUntil: 20_000)
        let channels = second.map(\.message.channel)
        #expect(channels.filter { $0 == "a" }.count == 3)
        #expect(channels.filter { $0 == "c" }.count == 1)
        #expect(channels.filter { $0 == "b" }.count == 3)
        #expect(Set(first.map(\.message.id)).isDisjoint(with: second.map(\.message.id)))

        // Nothing is due before its time, and a claim of nothing only records.
        #expect(try await store.recordAndClaim([], now: 500, capacity: DeliveryCapacity(total: 100, otherwise: 100), leaseUntil: 600).isEmpty)
        #expect(try await store.recordAndClaim([], now: 10_000, capacity: .none, leaseUntil: 20_000).isEmpty)
    }
}
