import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Preferences: topics, choices checked when a send runs, signed preference links")
struct PreferenceTests {
    static let configuration = """
        topics:
          news: { label: "News and offers", default: opt_in }
          beta: { label: "Beta invitations", default: opt_out }
        channels:
          inbox: { type: inbox }
          console: { type: log }
        templates:
          digest: { channel: inbox, topic: news, subject: "Digest", body: "Read more: {{preferences_url}}" }
          invite: { channel: inbox, subject: "Beta", body: "Join" }
        automations:
          digest-later: { steps: [ { delay: 2d }, { send: digest } ] }
          beta-invite: { topic: beta, steps: [ { send: invite } ] }
        mappings:
          - on: track/Signed Up
            run: digest-later
          - on: track/Beta Opened
            run: beta-invite
        """

    static func engine(clock: TestClock, links: PreferenceLinks = PreferenceLinks()) async throws -> (EngineHarness, RunWorker) {
        let harness = try await EngineHarness.make(clock: clock)
        try await harness.store.applyConfiguration(yaml: configuration, workspace: "default", secrets: .none)
        return (harness, RunWorker(store: harness.store, links: links, now: { clock.now }))
    }

    @Test("a delayed send to a user who unsubscribed during the delay is skipped; the message and the run's history say why")
    func delayedSendSkipped() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"track","event":"Signed Up","userId":"u-1"}"#)
        #expect(try await worker.executeDue() == 1)  // the 2-day delay
        clock.advance(.seconds(3600))
        try await engine.store.setPreferences(workspace: "default", profileId: "u-1", [PreferenceChoice(topic: "news", status: .optOut)], source: .api, at: clock.now)
        clock.advance(.seconds(2 * 86_400))
        #expect(try await worker.executeDue() == 1)  // the send (the run then completes in the same step)
        let message = try #require(try await engine.store.messages(workspace: "default", recipient: "u-1").first)
        #expect(message.status == .skipped)
        let reason = "the recipient opted out of topic `news` on every channel (api, 2026-11-18T12:06:40.000Z)"
        #expect(message.history.map(\.reason) == [reason])
        let history = try await engine.store.runHistory(runId: message.runId)
        #expect(history.map(\.outcome).contains("message \(message.id) skipped: \(reason)"))
        let changes = try await engine.store.preferenceChanges(workspace: "default", profileId: "u-1")
        #expect(changes.map(\.source) == ["api"])
    }

    @Test("an opt_out topic goes only to recipients who opted in; a choice already in force is not recorded twice")
    func optOutTopicByDefault() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"track","event":"Beta Opened","userId":"u-2"}"#)
        try await worker.executeDue()
        let skipped = try #require(try await engine.store.messages(workspace: "default", recipient: "u-2").first)
        #expect(skipped.status == .skipped)
        #expect(skipped.history.first?.reason == "topic `beta` is sent only to recipients who opted in, and this one has not")
        let optIn = [PreferenceChoice(topic: "beta", channel: "inbox", status: .optIn)]
        #expect(try await engine.store.setPreferences(workspace: "default", profileId: "u-2", optIn, source: .api, at: clock.now).count == 1)
        #expect(try await engine.store.setPreferences(workspace: "default", profileId: "u-2", optIn, source: .api, at: clock.now).isEmpty)
        try await engine.send(#"{"type":"track","event":"Beta Opened","userId":"u-2"}"#)
        try await worker.executeDue()
        let messages = try await engine.store.messages(workspace: "default", recipient: "u-2")
        #expect(messages.map(\.status).sorted { $0.rawValue < $1.rawValue } == [.sent, .skipped])
    }

    @Test("{{preferences_url}} carries a token signed for the recipient; altered or foreign tokens do not verify")
    func preferenceLink() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock, links: PreferenceLinks(baseURL: "https://herald.example/"))
        try await engine.send(#"{"type":"track","event":"Signed Up","userId":"u-3"}"#)
        try await worker.executeDue()  // the 2-day delay starts
        clock.advance(.seconds(2 * 86_400))
        try await worker.executeDue()
        let message = try #require(try await engine.store.messages(workspace: "default", recipient: "u-3").first)
        let body = try #require(message.body)
        #expect(body.hasPrefix("Read more: https://herald.example/p/"))
        let token = String(body.dropFirst("Read more: https://herald.example/p/".count))
        let key = try #require(try await engine.store.existingPreferenceSigningKey(workspace: "default"))
        #expect(PreferenceToken.verify(token, key: key) == PreferenceToken(workspace: "default", profileId: "u-3"))
        #expect(PreferenceToken.claimedWorkspace(of: token) == "default")
        var altered = Array(token)
        altered[altered.count - 1] = altered.last == "A" ? "B" : "A"
        #expect(PreferenceToken.verify(String(altered), key: key) == nil)
        #expect(PreferenceToken.verify(PreferenceToken.make(workspace: "default", profileId: "u-4", key: PreferenceToken.newKey()), key: key) == nil)
        // Another profile's payload with this token's signature.
        let forged = PreferenceToken.make(workspace: "default", profileId: "u-4", key: key).split(separator: ".")[0] + "." + token.split(separator: ".")[1]
        #expect(PreferenceToken.verify(String(forged), key: key) == nil)
        #expect(PreferenceToken.verify("not-a-token", key: key) == nil)
    }

    @Test("the `unsubscribed` trait: changes are recorded from identify; it holds email only")
    func unsubscribedTrait() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, _) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"identify","userId":"u-5","traits":{"unsubscribed":true}}"#)
        try await engine.send(#"{"type":"identify","userId":"u-5","traits":{"unsubscribed":true,"plan":"pro"}}"#)
        try await engine.send(#"{"type":"identify","userId":"u-5","traits":{"unsubscribed":false}}"#)
        let changes = try await engine.store.preferenceChanges(workspace: "default", profileId: "u-5")
        #expect(changes.map(\.choice) == [
            PreferenceChoice(topic: "*", channel: "type:smtp", status: .optIn), PreferenceChoice(topic: "*", channel: "type:smtp", status: .optOut),
        ])
        #expect(changes.map(\.source) == ["identify", "identify"])
        let traits = JSONObject([(key: "unsubscribed", value: .bool(true))])
        #expect(PreferenceCheck.blockingReason(topic: nil, channel: "email", isEmail: true, choices: [], traits: traits)
            == "the recipient's `unsubscribed` trait is true: no email is sent to them")
        #expect(PreferenceCheck.blockingReason(topic: nil, channel: "inbox", isEmail: false, choices: [], traits: traits) == nil)
    }

    @Test("the most specific choice wins: topic on channel, topic, channel, everything, then the topic's default")
    func specificity() {
        let news = HeraldConfiguration.Topic(name: "news", label: "News", defaultStatus: .optIn)
        let at = Timestamp(millisecondsSince1970: 0)
        func record(_ topic: String, _ channel: String, _ status: PreferenceStatus) -> PreferenceRecord {
            PreferenceRecord(choice: PreferenceChoice(topic: topic, channel: channel, status: status), source: "api", updatedAt: at)
        }
        let check = { (choices: [PreferenceRecord]) in
            PreferenceCheck.blockingReason(topic: news, channel: "email", isEmail: true, choices: choices, traits: nil) == nil ? "send" : "skip"
        }
        #expect(check([]) == "send")
        #expect(check([record("*", "*", .optOut)]) == "skip")
        #expect(check([record("*", "*", .optOut), record("news", "*", .optIn)]) == "send")
        #expect(check([record("news", "*", .optIn), record("*", "email", .optOut)]) == "send")
        #expect(check([record("news", "*", .optOut), record("news", "email", .optIn)]) == "send")
        #expect(check([record("news", "inbox", .optOut)]) == "send")
        #expect(check([record("*", "email", .optOut)]) == "skip")
        #expect(PreferenceCheck.blockingReason(topic: nil, channel: "email", isEmail: true, choices: [record("news", "*", .optOut)], traits: nil) == nil)
    }

    @Test("topics: declared names only, defaults opt_in or opt_out", arguments: [
        ("topics:\n  news: { default: maybe }\n", "`default` must be `opt_in`"),
        ("topics:\n  \"a b\": { label: x }\n", "topic name `a b` may hold only"),
        ("channels:\n  inbox: { type: inbox }\ntemplates:\n  t: { channel: inbox, topic: nope, body: x }\n", "template `t` has topic `nope`, which is not defined under `topics`"),
        ("automations:\n  a: { topic: nope, steps: [ { delay: 1m } ] }\n", "automation `a` has topic `nope`, which is not defined under `topics`"),
        ("topics:\n  news: { colour: red }\n", "unknown key `colour` in topic `news`"),
    ])
    func topicMistakes(yaml: String, message: String) {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: .none)
            Issue.record("accepted: \(yaml)")
        } catch {
            let messages = error.issues.map(\.message)
            #expect(messages.contains { $0.hasPrefix(message) }, "\(messages)")
        }
    }

    @Test("a topic's label defaults to its name and its default to opt_in")
    func topicDefaults() throws {
        let configuration = try ConfigurationLoader.load(yaml: "topics:\n  news: {}\n  beta: { label: Beta, default: opt_out }\n", secrets: .none)
        #expect(configuration.topics == [
            .init(name: "news", label: "news", defaultStatus: .optIn), .init(name: "beta", label: "Beta", defaultStatus: .optOut),
        ])
    }
}
