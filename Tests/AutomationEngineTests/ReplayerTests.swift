import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Replay: stored events against the current configuration, never twice")
struct ReplayerTests {
    @Test("replay leaves events the engine has not processed yet to the engine, and never starts an automation twice for one event")
    func onlyProcessedEventsOnce() async throws {
        let engine = try await EngineHarness.make()
        let json = #"{"type":"track","event":"Order Completed","userId":"u-1","messageId":"o-1","properties":{"order_id":"o-1","revenue":12,"currency":"usd"}}"#
        let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
        let entry = IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: EngineHarness.now)
        _ = try await engine.writer.append([entry], keyHash: engine.keyHash)

        // Stored but not processed: a replay must not start it (the engine will).
        let early = try await Replayer(store: engine.store, now: { EngineHarness.now }).replay(workspace: "default", from: nil, to: nil, dryRun: false)
        #expect(early.eventsConsidered == 0)
        #expect(try await engine.store.runs(workspace: "default").isEmpty)

        try await engine.processor.processPending()
        #expect(try await engine.store.runs(workspace: "default").map(\.automation) == ["order-confirmation"])
        let replayed = try await Replayer(store: engine.store, now: { EngineHarness.now }).replay(workspace: "default", from: nil, to: nil, dryRun: false)
        #expect(replayed.eventsConsidered == 1)
        #expect(replayed.runsStarted == 0)
        #expect(replayed.truncated == false)
        #expect(replayed.events.first?.explain["mappings"]?[0]?["result"]?.stringValue?.contains("already started") == true)
        #expect(try await engine.store.runs(workspace: "default").count == 1)
    }
}
