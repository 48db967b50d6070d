import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("The Segment outbox: each message status writes its event in the same transaction")
struct SegmentOutboxTests {
    static func yaml(events: String? = nil) -> String {
        """
        segment:
          write_key: wk_literal
          endpoint: http://127.0.0.1:9/
        \(events.map { "  events: \($0)" } ?? "")
        channels:
          inbox: { type: inbox }
          hook: { type: webhook, url: "https://mailer.example/send" }
        templates:
          hello: { channel: inbox, body: "hi {{profile.name}}" }
          queued: { channel: hook, body: "later" }
          nowhere: { body: "no channel" }
        automations:
          greet: { steps: [ { send: hello } ] }
          wait: { steps: [ { send: queued } ] }
          lost: { steps: [ { send: nowhere } ] }
        mappings:
          - on: track/Greet
            run: greet
          - on: track/Wait
            run: wait
          - on: track/Lost
            run: lost
        """
    }

    static func engine(yaml: String = yaml()) async throws -> (EngineHarness, RunWorker) {
        let clock = TestClock(start: EngineHarness.now)
        let harness = try await EngineHarness.make(clock: clock)
        try await harness.store.applyConfiguration(yaml: yaml, workspace: "default", secrets: .none, now: EngineHarness.now)
        return (harness, RunWorker(store: harness.store, now: { clock.now }))
    }

    static func calls(_ store: HeraldStore) async throws -> [JSONObject] {
        try await store.outboxCalls(workspace: "default").map { try #require(try JSONParser.parse($0.call).objectValue) }
    }

    @Test("Message Sent with the documented properties, attributed to the recipient's userId")
    func messageSent() async throws {
        let (engine, worker) = try await Self.engine()
        try await engine.send(#"{"type":"identify","userId":"u-1","traits":{"name":"Ada"}}"#)
        try await engine.send(#"{"type":"track","event":"Greet","userId":"u-1","messageId":"evt-greet"}"#)
        try await worker.executeDue()
        let message = try #require(try await engine.store.messages(workspace: "default", recipient: "u-1").first)
        #expect(message.status == .sent)
        let calls = try await Self.calls(engine.store)
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        #expect(call["type"]?.stringValue == "track")
        #expect(call["event"]?.stringValue == "Message Sent")
        #expect(call["userId"]?.stringValue == "u-1")
        #expect(call["context"]?["library"]?["name"]?.stringValue == "herald")
        #expect(call["timestamp"]?.stringValue == EngineHarness.now.iso8601)
        let properties = try #require(call["properties"]?.objectValue)
        #expect(properties["message_id"]?.stringValue == message.id)
        #expect(properties["automation"]?.stringValue == "greet")
        #expect(properties["template"]?.stringValue == "hello")
        #expect(properties["channel"]?.stringValue == "inbox")
        #expect(properties["run_id"]?.numberValue?.int64Value == message.runId)
        #expect(properties["event_message_id"]?.stringValue == "evt-greet")
        #expect(properties["reason"] == nil)
        let stored = try #require(try await engine.store.outboxCalls(workspace: "default").first)
        #expect(call["messageId"]?.stringValue == stored.messageId)
        #expect(!stored.rejected && stored.attempts == 0)
    }

    @Test("an anonymous recipient is sent as anonymousId; unroutable carries its reason; queued sends nothing")
    func otherStatuses() async throws {
        let (engine, worker) = try await Self.engine()
        try await engine.send(#"{"type":"track","event":"Lost","anonymousId":"anon-1"}"#)
        try await engine.send(#"{"type":"track","event":"Wait","userId":"u-2"}"#)
        try await worker.executeDue()
        let calls = try await Self.calls(engine.store)
        #expect(calls.count == 1)
        #expect(calls.first?["event"]?.stringValue == "Message Unroutable")
        #expect(calls.first?["anonymousId"]?.stringValue == "anon-1")
        #expect(calls.first?["userId"] == nil)
        #expect(calls.first?["properties"]?["reason"]?.stringValue == "template `nowhere` names no channel")
    }

    @Test("no `segment:`, or the event not in `events:`: nothing is written")
    func onlyWhenConfigured() async throws {
        let (engine, worker) = try await Self.engine(yaml: Self.yaml().replacingOccurrences(of: "segment:\n  write_key: wk_literal\n  endpoint: http://127.0.0.1:9/\n", with: ""))
        try await engine.send(#"{"type":"track","event":"Greet","userId":"u-1"}"#)
        try await worker.executeDue()
        #expect(try await engine.store.outboxCalls(workspace: "default").isEmpty)

        let (filtered, filteredWorker) = try await Self.engine(yaml: Self.yaml(events: #"["Message Delivered"]"#))
        try await filtered.send(#"{"type":"track","event":"Greet","userId":"u-1"}"#)
        try await filteredWorker.executeDue()
        #expect(try await filtered.store.outboxCalls(workspace: "default").isEmpty)
    }

    @Test("a `delete` of the user erases their calls not sent yet")
    func erasure() async throws {
        let (engine, worker) = try await Self.engine()
        try await engine.send(#"{"type":"track","event":"Greet","userId":"u-1"}"#)
        try await engine.send(#"{"type":"track","event":"Greet","userId":"u-2"}"#)
        try await worker.executeDue()
        #expect(try await engine.store.outboxCalls(workspace: "default").count == 2)
        try await engine.send(#"{"type":"delete","userId":"u-1"}"#)
        let left = try await Self.calls(engine.store)
        #expect(left.map { $0["userId"]?.stringValue } == ["u-2"])
    }

    @Test("reports: delivered, clicked, then opened; each once; statuses never go back; a late bounce changes nothing")
    func reports() async throws {
        let (engine, worker) = try await Self.engine()
        try await engine.send(#"{"type":"track","event":"Greet","userId":"u-1"}"#)
        try await worker.executeDue()
        let id = try #require(try await engine.store.messages(workspace: "default").first?.id)
        let at = EngineHarness.now
        let delivered = try #require(try await engine.store.recordReport(.delivered, messageId: id, workspace: "default", at: at))
        #expect(delivered.recorded && delivered.message.status == .delivered)
        #expect(try await engine.store.recordReport(.delivered, messageId: id, workspace: "default", at: at)?.recorded == false)
        let clicked = try #require(try await engine.store.recordReport(.clicked(url: "https://example.com/a"), messageId: id, workspace: "default", at: at))
        #expect(clicked.recorded && clicked.message.status == .clicked && clicked.clicks == 1)
        let opened = try #require(try await engine.store.recordReport(.opened, messageId: id, workspace: "default", at: at))
        #expect(opened.recorded && opened.message.status == .clicked && opened.opens == 1)  // recorded, not regressed
        let again = try #require(try await engine.store.recordReport(.opened, messageId: id, workspace: "default", at: at))
        #expect(!again.recorded && again.opens == 2)  // counted
        let bounce = try #require(try await engine.store.recordReport(.undeliverable(reason: "550"), messageId: id, workspace: "default", at: at))
        #expect(!bounce.recorded && bounce.message.status == .clicked)
        #expect(try await engine.store.recordReport(.opened, messageId: id, workspace: "other", at: at) == nil)
        let history = bounce.message.history.map(\.status)
        #expect(history == [.sent, .delivered, .clicked, .opened])
        let calls = try await Self.calls(engine.store)
        #expect(calls.map { $0["event"]?.stringValue } == ["Message Sent", "Message Delivered", "Message Clicked", "Message Opened"])
        #expect(calls[2]["properties"]?["url"]?.stringValue == "https://example.com/a")
        #expect(Set(calls.compactMap { $0["messageId"]?.stringValue }).count == 4)
    }

    @Test("a bounce after delivery makes the message undeliverable, with the provider's reason")
    func bounce() async throws {
        let (engine, worker) = try await Self.engine()
        try await engine.send(#"{"type":"track","event":"Greet","userId":"u-1"}"#)
        try await worker.executeDue()
        let id = try #require(try await engine.store.messages(workspace: "default").first?.id)
        let result = try #require(try await engine.store.recordReport(.undeliverable(reason: "550 mailbox unavailable"), messageId: id, workspace: "default", at: EngineHarness.now))
        #expect(result.recorded && result.message.status == .undeliverable)
        let calls = try await Self.calls(engine.store)
        #expect(calls.last?["event"]?.stringValue == "Message Undeliverable")
        #expect(calls.last?["properties"]?["reason"]?.stringValue == "550 mailbox unavailable")
        #expect(try await engine.store.recordReport(.opened, messageId: id, workspace: "default", at: EngineHarness.now)?.message.status == .undeliverable)
    }

    @Test("a preference change writes User Unsubscribed / User Subscribed with topic, channel and source, once per change")
    func preferenceChanges() async throws {
        let (engine, _) = try await Self.engine()
        try await engine.send(#"{"type":"identify","userId":"u-7","traits":{"name":"Grace"}}"#)
        let optOut = PreferenceChoice(topic: "news", channel: PreferenceChoice.all, status: .optOut)
        _ = try await engine.store.setPreferences(workspace: "default", profileId: "u-7", [optOut], source: .api, at: EngineHarness.now)
        // The same choice again changes nothing and reports nothing.
        _ = try await engine.store.setPreferences(workspace: "default", profileId: "u-7", [optOut], source: .api, at: EngineHarness.now)
        try await engine.send(#"{"type":"identify","userId":"u-7","traits":{"unsubscribed":true}}"#)
        let calls = try await Self.calls(engine.store)
        #expect(calls.map { $0["event"]?.stringValue } == ["User Unsubscribed", "User Unsubscribed"])
        #expect(calls.allSatisfy { $0["userId"]?.stringValue == "u-7" })
        let first = try #require(calls.first?["properties"]?.objectValue)
        #expect(first["topic"]?.stringValue == "news")
        #expect(first["channel"]?.stringValue == "*")
        #expect(first["source"]?.stringValue == "api")
        let second = try #require(calls.last?["properties"]?.objectValue)
        #expect(second["source"]?.stringValue == "identify")
        #expect(second["channel"]?.stringValue == "type:smtp")

        let optIn = PreferenceChoice(topic: "news", channel: PreferenceChoice.all, status: .optIn)
        _ = try await engine.store.setPreferences(workspace: "default", profileId: "u-7", [optIn], source: .page, at: EngineHarness.now)
        #expect(try await Self.calls(engine.store).last?["event"]?.stringValue == "User Subscribed")
    }
}
