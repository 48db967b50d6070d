import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("max_event_age: replayed history updates profiles but starts no automation")
struct MaximumEventAgeTests {
    /// The sample configuration with `max_event_age: 7d` on top.
    static func harness() async throws -> EngineHarness {
        let engine = try await EngineHarness.make()
        let yaml = "max_event_age: 7d\n" + (try FixtureFiles.text("herald.yaml"))
        try await engine.store.applyConfiguration(
            yaml: yaml, workspace: "default", secrets: SecretEnvironment(variables: ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "x"]))
        return engine
    }

    @Test("an identify from 10 days ago updates the profile, starts nothing, and the trace says why")
    func oldIdentify() async throws {
        let engine = try await Self.harness()
        // EngineHarness.now is 2026-11-18T...; this event happened ten days and two hours earlier.
        let old = Timestamp(millisecondsSince1970: EngineHarness.now.millisecondsSince1970 - (10 * 86_400 + 2 * 3600) * 1000)
        let seq = try await engine.send(#"{"type":"identify","userId":"u-old","traits":{"plan":"pro"},"messageId":"old-1","timestamp":"\#(old.iso8601)"}"#)
        #expect(try await engine.store.profileTraits(workspace: "default", id: "u-old")?["plan"] == "pro")
        #expect(try await engine.store.runs(workspace: "default").isEmpty)
        let expected = "the event happened 10d 2h before it arrived (timestamp \(old.iso8601)), more than max_event_age (7d): "
            + "it starts and cancels no automation; profiles and groups were still updated"
        #expect(try await engine.trace(seq)["summary"] == .string(expected))
    }

    @Test("an event within the age starts its automation as usual")
    func recentEvent() async throws {
        let engine = try await Self.harness()
        let recent = Timestamp(millisecondsSince1970: EngineHarness.now.millisecondsSince1970 - 6 * 86_400 * 1000)
        try await engine.send(#"{"type":"identify","userId":"u-new","traits":{"plan":"pro"},"messageId":"new-1","timestamp":"\#(recent.iso8601)"}"#)
        #expect(try await engine.store.runs(workspace: "default").map(\.automation) == ["welcome-series"])
    }

    @Test("max_event_age must be one duration of a minute or more")
    func invalidAge() throws {
        let cases = [
            ("max_event_age: soon", "`max_event_age` must be a duration of at least a minute, such as `7d` or `12h`"),
            ("max_event_age: 30s", "`max_event_age` must be a duration of at least a minute, such as `7d` or `12h`"),
            ("max_event_age: [7d]", "`max_event_age` must be a single value"),
        ]
        for (text, message) in cases {
            do {
                _ = try ConfigurationLoader.load(yaml: text, secrets: SecretEnvironment(variables: [:]))
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.issues.map(\.message) == [message])
            }
        }
        let loaded = try ConfigurationLoader.load(yaml: "max_event_age: 12h", secrets: SecretEnvironment(variables: [:]))
        #expect(loaded.maximumEventAge == .seconds(12 * 3600))
    }
}
