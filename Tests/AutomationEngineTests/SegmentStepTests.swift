import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("`- segment:` steps: identify, track, group and raw Tracking API calls about the recipient, through the outbox")
struct SegmentStepTests {
    static let yaml = """
        segment: { write_key: wk_steps }
        automations:
          report:
            steps:
              - segment: { identify: { traits: { plan: "{{data.plan}}", seats: 3 } } }
              - segment: { track: "Plan {{data.plan}} Chosen", properties: { revenue: "{{data.revenue}}", currency: usd, value: "{{data.missing}}" } }
              - segment: { group: { group_id: "{{data.company}}", traits: { name: "{{data.company}} Inc" } } }
              - segment: { path: /v1/page, method: POST, body: { name: Pricing, properties: { path: /pricing } } }
        mappings:
          - { on: track/Plan Chosen, run: report }
        """

    @Test("each call is rendered, typed, attributed to the recipient, and written once")
    func calls() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let engine = try await EngineHarness.make(clock: clock)
        try await engine.store.applyConfiguration(yaml: Self.yaml, workspace: "default", secrets: .none, now: EngineHarness.now)
        let worker = RunWorker(store: engine.store, now: { clock.now })
        try await engine.send(#"{"type":"track","event":"Plan Chosen","userId":"u-1","properties":{"plan":"pro","revenue":"99.5","company":"acme"}}"#)
        #expect(try await worker.executeDue() == 4)
        let calls = try await engine.store.outboxCalls(workspace: "default").map { try #require(try JSONParser.parse($0.call).objectValue) }
        #expect(calls.map { $0["type"]?.stringValue } == ["identify", "track", "group", "page"])
        #expect(calls.allSatisfy { $0["userId"]?.stringValue == "u-1" && $0["messageId"]?.stringValue != nil })
        #expect(calls[0]["traits"] == ["plan": "pro", "seats": 3])
        #expect(calls[1]["event"]?.stringValue == "Plan pro Chosen")
        #expect(calls[1]["properties"]?["revenue"] == .number(JSONNumber(99.5)))
        #expect(calls[1]["properties"]?["currency"] == "usd")
        #expect(calls[1]["properties"]?["value"] == nil)  // rendered empty: not a number, left out
        #expect(calls[2]["groupId"]?.stringValue == "acme")
        #expect(calls[2]["traits"]?["name"]?.stringValue == "acme Inc")
        #expect(calls[3]["name"]?.stringValue == "Pricing")
        #expect(calls[3]["properties"]?["path"]?.stringValue == "/pricing")
        let run = try #require(try await engine.store.runs(workspace: "default").first)
        let history = try await engine.store.runHistory(runId: run.id).map(\.outcome)
        #expect(history.contains("segment track \"Plan pro Chosen\" written to the outbox (`value` is not a number (\"\"); left out)"))
    }

    @Test("mistakes in a segment step are configuration errors", arguments: [
        ("automations: { a: { steps: [ { segment: { track: Paid } } ] } }\n", "has a `segment` step, but the configuration has no `segment:`"),
        ("segment: { write_key: k }\nautomations: { a: { steps: [ { segment: { track: Paid, properties: { revenue: lots } } } ] } }\n", "`revenue` is a number"),
        ("segment: { write_key: k }\nautomations: { a: { steps: [ { segment: { path: /v1/batch, body: {} } } ] } }\n", "`path` is a Tracking API call"),
        ("segment: { write_key: k }\nautomations: { a: { steps: [ { segment: { path: /v1/track, method: GET, body: {} } } ] } }\n", "`method: POST` only"),
        ("segment: { write_key: k }\nautomations: { a: { steps: [ { segment: { identify: {}, track: X } } ] } }\n", "takes one of `identify"),
        ("segment: { write_key: k }\nautomations: { a: { steps: [ { segment: { group: { traits: {} } } } ] } }\n", "`group` takes `{group_id"),
    ])
    func mistakes(yaml: String, message: String) {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: .none)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.issues.contains { $0.message.contains(message) }, "\(error.issues)")
        }
    }
}

@Suite("Tracking tokens: signed, not forgeable, not transferable")
struct TrackingTokenTests {
    @Test("a token reads back what it was made of, under its key only")
    func roundTrip() {
        let key = Data(repeating: 1, count: 32)
        for kind in [TrackingToken.Kind.open, .click(link: 0), .click(link: 12)] {
            let token = TrackingToken(messageId: "run-4-step-2", kind: kind)
            let text = token.signed(with: key)
            #expect(TrackingToken(verifying: text, key: key) == token)
            #expect(TrackingToken(verifying: text, key: Data(repeating: 2, count: 32)) == nil)
            #expect(!text.contains("/") && !text.contains("+") && !text.contains("="))
        }
        // Every other spelling of the same bytes is refused (base64's last character carries ignored bits).
        let text = TrackingToken(messageId: "run-4-step-2", kind: .open).signed(with: key)
        for replacement in ["A", "B", "C", "D", "Q", "g", "w"] where String(text.last!) != replacement {
            #expect(TrackingToken(verifying: String(text.dropLast()) + replacement, key: key) == nil)
        }
        #expect(TrackingToken(verifying: "", key: key) == nil)
        #expect(TrackingToken(verifying: "a.b.c", key: key) == nil)
    }
}
