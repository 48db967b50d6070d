import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

/// An in-memory Herald with the sample configuration, a running writer and a fixed clock.
struct EngineHarness {
    let store: HeraldStore
    let writer: GroupCommitWriter
    let keyHash: Data
    let processor: EventProcessor

    static let now = Timestamp(millisecondsSince1970: 1_795_000_000_000)  // 2026-11-18

    /// - Parameter handoff: whether the writer hands parsed events to the engine, as in the
    ///   server (else the engine reads and parses every event from the log).
    static func make(store given: HeraldStore? = nil, clock: TestClock? = nil, handoff: Bool = true) async throws -> EngineHarness {
        let store = try given ?? HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        try await store.applyConfiguration(yaml: try FixtureFiles.text("herald.yaml"), workspace: "default", secrets: SecretEnvironment(variables: ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "x"]))
        let parsed = handoff ? ParsedEventHandoff() : nil
        let writer = GroupCommitWriter(store: store, handoff: parsed)
        Task { try await writer.run() }
        let processor = EventProcessor(store: store, handoff: parsed, now: { clock?.now ?? now })
        return EngineHarness(store: store, writer: writer, keyHash: key.secret.hash, processor: processor)
    }

    /// Appends one event and runs the engine over it; returns the event's seq.
    @discardableResult
    func send(_ json: String) async throws -> Int64 {
        let object = try #require(try JSONParser.parse(json).objectValue)
        let event = try SegmentEvent(validating: object)
        let entry = IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: Self.now)
        return try await append(entry)
    }

    private func append(_ entry: IngestEvent) async throws -> Int64 {
        guard case .accepted(let seq) = try await writer.append([entry], keyHash: keyHash).first else {
            throw EventValidationError.invalid("not accepted")
        }
        try await processor.processPending()
        return seq
    }

    func trace(_ seq: Int64) async throws -> JSONValue {
        try #require(try await store.trace(seq: seq))
    }
}

@Suite("Engine: profiles, mappings, once_per, cancellation and the explain trace")
struct EventProcessorTests {
    @Test("identify updates the profile with normalised traits and starts the welcome series once per user")
    func identifyOncePerUser() async throws {
        let engine = try await EngineHarness.make()
        let first = try await engine.send(#"{"type":"identify","userId":"u-1","traits":{"first_name":"Ada","plan":"free"},"messageId":"i-1"}"#)
        let profile = try #require(try await engine.store.profileTraits(workspace: "default", id: "u-1"))
        #expect(profile["firstName"] == "Ada")
        #expect(profile["name"] == "Ada")
        let runs = try await engine.store.runs(workspace: "default")
        #expect(runs.map(\.automation) == ["welcome-series"])
        #expect(runs.first?.state == "pending")
        #expect(runs.first?.configVersion == 1)
        #expect(try await engine.trace(first)["mappings"]?.arrayValue?.first?["result"] == "started run 1 of `welcome-series`")
        let second = try await engine.send(#"{"type":"identify","userId":"u-1","traits":{"plan":"pro"},"messageId":"i-2"}"#)
        #expect(try await engine.store.runs(workspace: "default").count == 1)
        #expect(try await engine.trace(second)["mappings"]?.arrayValue?.first?["result"] == "once_per user: already ran on 2026-11-18")
        #expect(try await engine.store.profileTraits(workspace: "default", id: "u-1")?["plan"] == "pro")
    }

    @Test("a true condition starts a run; a false one is explained with the values it saw")
    func conditions() async throws {
        let engine = try await EngineHarness.make()
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-2","properties":{"order_id":"o-1","revenue":25,"currency":"usd"}}"#)
        let runs = try await engine.store.runs(workspace: "default")
        #expect(runs.map(\.automation) == ["order-confirmation"])
        #expect(runs.first?.token == "order-o-1")
        let refused = try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-2","properties":{"order_id":"o-2","revenue":0,"currency":"usd"}}"#)
        let check = try #require(try await engine.trace(refused)["mappings"]?.arrayValue?.first)
        #expect(check["value"] == false)
        #expect(check["result"] == #"condition `data.revenue > 0 && data.currency == "usd"` was false (data.revenue = 0)"#)
        #expect(try await engine.store.runs(workspace: "default").count == 1)
    }

    @Test("an event nobody mapped says so")
    func unmapped() async throws {
        let engine = try await EngineHarness.make()
        let seq = try await engine.send(#"{"type":"track","event":"Foo","userId":"u-3"}"#)
        #expect(try await engine.trace(seq)["summary"] == #"no mapping for "track/Foo""#)
    }

    @Test("cancel stops pending runs with the token, and a run created just after is born cancelled")
    func cancellation() async throws {
        let engine = try await EngineHarness.make()
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-4","properties":{"order_id":"o-9","revenue":5,"currency":"usd"}}"#)
        let cancel = try await engine.send(#"{"type":"track","event":"Order Refunded","userId":"u-4","properties":{"order_id":"o-9"}}"#)
        #expect(try await engine.trace(cancel)["mappings"]?.arrayValue?.first?["result"] == #"cancelled 1 pending run(s) with token "order-o-9""#)
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-4","properties":{"order_id":"o-9","revenue":5,"currency":"usd"}}"#)
        let runs = try await engine.store.runs(workspace: "default")
        #expect(runs.map(\.state) == ["cancelled", "cancelled"])
    }

    @Test("identify with both ids folds the anonymous profile into the user's; alias and group too")
    func identityMerging() async throws {
        let engine = try await EngineHarness.make()
        try await engine.send(#"{"type":"identify","anonymousId":"anon-1","traits":{"utm":"ad"}}"#)
        try await engine.send(#"{"type":"identify","userId":"u-5","anonymousId":"anon-1","traits":{"email":"u5@example.com"}}"#)
        let merged = try #require(try await engine.store.profileTraits(workspace: "default", id: "u-5"))
        #expect(merged["utm"] == "ad")
        #expect(merged["email"] == "u5@example.com")
        #expect(try await engine.store.profileTraits(workspace: "default", id: "anon-1") == merged)  // the old id resolves to the user
        try await engine.send(#"{"type":"identify","userId":"old-id","traits":{"legacy":true}}"#)
        try await engine.send(#"{"type":"alias","userId":"u-5","previousId":"old-id"}"#)
        #expect(try await engine.store.profileTraits(workspace: "default", id: "u-5")?["legacy"] == true)
        try await engine.send(#"{"type":"group","userId":"u-5","groupId":"g-1","traits":{"name":"Initech"}}"#)
        try await engine.send(#"{"type":"group","userId":"anon-1","groupId":"g-1","traits":{"plan":"enterprise"}}"#)
        let group = try #require(try await engine.store.group(workspace: "default", id: "g-1"))
        #expect(group.traits["name"] == "Initech")
        #expect(group.traits["plan"] == "enterprise")
        #expect(group.members == ["u-5"])
    }

    @Test("events handed over parsed by the writer are processed exactly as events read back from the log")
    func handoffMatchesTheLog() async throws {
        let script = [
            #"{"type":"identify","userId":"u-h","anonymousId":"anon-h","traits":{"email":"h@example.com","first_name":"Ha"}}"#,
            #"{"type":"track","userId":"u-h","event":"Order Completed","properties":{"total":120,"currency":"usd"}}"#,
            #"{"type":"track","anonymousId":"anon-h","event":"Order Completed","properties":{"total":3}}"#,
            #"{"type":"group","userId":"u-h","groupId":"g-h","traits":{"plan":"pro"}}"#,
            #"{"type":"page","userId":"u-h","name":"Pricing","properties":{"path":"/pricing"}}"#,
            #"{"event":"No Type","userId":"u-h"}"#,
        ]
        var outcomes: [[JSONValue]] = []
        for handoff in [true, false] {
            let engine = try await EngineHarness.make(handoff: handoff)
            var traces: [JSONValue] = []
            for json in script {
                let object = try #require(try JSONParser.parse(json).objectValue)
                // The last one has no type, as sent to /v1/track: the stored type stands in.
                let event = try SegmentEvent(validating: object, defaultType: object["type"] == nil ? .track : nil)
                let entry = IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: EngineHarness.now)
                guard case .accepted(let seq) = try await engine.writer.append([entry], keyHash: engine.keyHash).first else {
                    Issue.record("not accepted: \(json)")
                    continue
                }
                traces.append(.number(JSONNumber(seq)))
            }
            #expect(try await engine.processor.processPending() == script.count)
            for case .number(let seq) in traces {
                traces.append(try await engine.trace(Int64(seq.description)!))
            }
            traces.append(.object(try #require(try await engine.store.profileTraits(workspace: "default", id: "anon-h"))))
            traces.append(.number(JSONNumber(try await engine.store.runs(workspace: "default").count)))
            outcomes.append(traces)
        }
        #expect(outcomes[0] == outcomes[1])
        #expect(outcomes[0].count == 2 * script.count + 2)
    }

    @Test("each event is processed exactly once, however often the engine runs")
    func exactlyOnce() async throws {
        let engine = try await EngineHarness.make()
        try await engine.send(#"{"type":"identify","userId":"u-6","traits":{}}"#)
        #expect(try await engine.processor.processPending() == 0)
        #expect(try await EventProcessor(store: engine.store).processPending() == 0)  // a restarted engine resumes at the cursor
        #expect(try await engine.store.runs(workspace: "default").count == 1)
    }

    @Test("delete erases the profile, its aliases, memberships and runs")
    func deleteErasesEngineData() async throws {
        let engine = try await EngineHarness.make()
        try await engine.send(#"{"type":"identify","userId":"u-7","anonymousId":"anon-7","traits":{"email":"gone@example.com"}}"#)
        try await engine.send(#"{"type":"group","userId":"u-7","groupId":"g-7","traits":{}}"#)
        try await engine.send(#"{"type":"delete","userId":"u-7","messageId":"del-7"}"#)
        #expect(try await engine.store.profileTraits(workspace: "default", id: "u-7") == nil)
        #expect(try await engine.store.profileTraits(workspace: "default", id: "anon-7") == nil)
        #expect(try await engine.store.group(workspace: "default", id: "g-7")?.members == [])
        #expect(try await engine.store.runs(workspace: "default").isEmpty)
    }
}
