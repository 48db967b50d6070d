import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Configuration: the YAML model, validated as a whole, errors at their line and column")
struct ConfigurationLoaderTests {
    static let secrets = SecretEnvironment(variables: ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "s3cret"]).scoped(to: "default")

    @Test("the sample configuration loads with every feature")
    func sample() throws {
        let configuration = try ConfigurationLoader.load(yaml: try FixtureFiles.text("herald.yaml"), secrets: Self.secrets)
        #expect(configuration.channels.map(\.name) == ["email", "inbox", "console"])
        #expect(configuration.channels[0].kind == .webhook(url: "https://mailer.internal/send", secret: "s3cret", timeoutSeconds: 10))
        #expect(configuration.templates.count == 9)
        let digest = try #require(configuration.automations.first { $0.name == "comment-digest" })
        #expect(digest.steps[0].action == .digest(DigestSettings(window: .seconds(600), key: "{{data.thread_id}}", maxItems: 3)))
        let payment = try #require(configuration.automations.first { $0.name == "payment-follow-up" })
        #expect(payment.throttle == FrequencyLimit(max: 1, per: .seconds(86_400), key: "{{data.order_id}}"))
        #expect(payment.steps.count == 3)
        #expect(payment.steps[0].action == .waitFor(WaitForEvent(
            event: "track/Order Paid", within: .seconds(2 * 86_400), matchText: "data.order_id == run.data.order_id", thenSteps: 1, timeoutSteps: 1)))
        #expect(payment.steps[2].branch == HeraldConfiguration.Step.Branch(waitStep: 0, onArrival: false))
        #expect(configuration.templates.first { $0.name == "shipping-update" }?.sendWindow == SendWindow(weekdays: [2, 3, 4, 5, 6], fromMinute: 480, toMinute: 1200))
        let welcome = try #require(configuration.automations.first { $0.name == "welcome-series" })
        #expect(welcome.steps.count == 3)
        #expect(welcome.steps[1].action == .delay(.seconds(2 * 86_400)))
        #expect(welcome.steps[2].condition == (try Condition(parsing: #"profile.plan != "pro""#)))
        let order = try #require(configuration.automations.first { $0.name == "order-confirmation" })
        #expect(order.cancellationToken == "order-{{data.order_id}}")
        #expect(order.steps[1].action == .send(template: "order-confirmation", channel: "inbox", recipient: nil, data: nil))
        guard case .updateProfile(let patch) = order.steps[2].action else { Issue.record("update-profile expected"); return }
        #expect(patch["orders_confirmed"]?.numberValue?.int64Value == 1)
        let trial = try #require(configuration.automations.first { $0.name == "trial-reminder" })
        #expect(trial.steps[0].action == .delayUntil(path: "data.remind_at"))
        let mappings = configuration.mappings(for: "track/Order Completed")
        #expect(mappings.count == 1)
        #expect(mappings[0].whenText == #"data.revenue > 0 && data.currency == "usd""#)
        #expect(configuration.mappings(for: "identify").first?.oncePer == .user)
        #expect(configuration.mappings(for: "track/Order Refunded").first?.action == .cancel(token: "order-{{data.order_id}}"))
    }

    @Test("each kind of mistake is reported at its line and column", arguments: [
        // unknown key
        ("channels:\n  inbox: { type: inbox, colour: red }\n", 2, 25, "unknown key `colour` in channel `inbox`"),
        // unknown template reference
        ("automations:\n  a:\n    steps:\n      - send: nope\n", 4, 9, "automation `a` sends template `nope`, which is not defined under `templates`"),
        // unknown automation reference
        ("mappings:\n  - on: identify\n    run: ghost\n", 3, 10, "mapping for `identify` runs automation `ghost`, which is not defined under `automations`"),
        // unknown channel reference
        ("templates:\n  t:\n    channel: sms\n    body: hi\n", 3, 14, "template `t` uses channel `sms`, which is not defined under `channels`"),
        // duplicate name
        ("channels:\n  inbox: { type: inbox }\n  inbox: { type: log }\n", 3, 3, "`inbox` is defined twice in the same mapping"),
        // condition syntax error, inside a quoted scalar
        ("automations:\n  a:\n    steps:\n      - cancel: x\nmappings:\n  - on: identify\n    when: 'data.x = 1'\n    run: a\n", 7, 19, "condition: `=` is not an operator; compare with `==`"),
        // template syntax error
        ("templates:\n  t:\n    body: \"Hello {{#data.x}}\"\n", 3, 29, "body of template `t` is not a valid template: a section `{{#…}}` or `{{^…}}` is never closed"),
        // bad duration
        ("automations:\n  a:\n    steps:\n      - delay: soon\n", 4, 16, "`delay` takes a duration such as `90s`, `10m`, `2d`, or `until: data.<path>`"),
        // a secret that is not set
        ("channels:\n  hook: { type: webhook, url: \"https://x.example/\", secret: \"${HERALD_SECRET_DEFAULT_NOPE}\" }\n", 2, 61, "the secret HERALD_SECRET_DEFAULT_NOPE is not set"),
        // a reference outside a secret
        ("channels:\n  hook: { type: webhook, url: \"https://x.example/${HERALD_SECRET_X}\" }\n", 2, 31, "`${…}` is resolved only in a channel's `secret`"),
        // YAML syntax
        ("channels: [\n", 2, 1, "YAML syntax"),
    ])
    func mistakes(yaml: String, line: Int, column: Int, message: String) {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: SecretEnvironment.none.scoped(to: "default"))
            Issue.record("expected an error for \(yaml)")
        } catch {
            let match = error.issues.first { $0.message.contains(message) }
            #expect(match != nil, "\(error.issues)")
            #expect(match?.line == line, "\(error.issues)")
            #expect(match?.column == column, "\(error.issues)")
        }
    }

    @Test("all problems are reported at once")
    func allAtOnce() {
        let yaml = "channels:\n  a: { type: pigeon }\nmappings:\n  - on: identify\n    run: nothing\n  - when: 'data.x > 1'\n    run: nothing\n"
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: SecretEnvironment.none.scoped(to: "default"))
            Issue.record("expected errors")
        } catch {
            #expect(error.issues.count >= 3, "\(error.issues)")
        }
    }

    @Test("durations", arguments: [("90s", 90), ("10m", 600), ("2h", 7200), ("2d", 172_800), ("1w", 604_800)])
    func durations(text: String, seconds: Int64) {
        #expect(DurationText.parse(text) == .seconds(seconds))
    }
}

@Suite("Configuration versions: applied atomically, numbered, previous ones readable")
struct ConfigurationVersionTests {
    @Test("each valid apply is a new version; an invalid one stores nothing")
    func versions() async throws {
        let store = try HeraldStore.inMemory()
        let first = try await store.applyConfiguration(yaml: "channels:\n  inbox: { type: inbox }\n", workspace: "default", secrets: .none)
        let second = try await store.applyConfiguration(yaml: "channels:\n  console: { type: log }\n", workspace: "default", secrets: .none)
        #expect(first.version == 1)
        #expect(second.version == 2)
        await #expect(throws: ConfigurationError.self) {
            try await store.applyConfiguration(yaml: "channels:\n  x: { type: pigeon }\n", workspace: "default", secrets: .none)
        }
        let versions = try await store.configurationVersions(workspace: "default")
        #expect(versions.map(\.version) == [2, 1])
        #expect(versions.last?.yaml == "channels:\n  inbox: { type: inbox }\n")
        #expect(try await store.currentConfiguration(workspace: "default")?.version == 2)
        #expect(try await store.currentConfiguration(workspace: "other") == nil)
    }

    @Test("secrets stay as ${ENV} references in the stored YAML")
    func secretsNotStored() async throws {
        let store = try HeraldStore.inMemory()
        let yaml = "channels:\n  hook: { type: webhook, url: \"https://x.example/h\", secret: \"${HOOK_SECRET}\" }\n"
        let secrets = SecretEnvironment(variables: ["HOOK_SECRET": "s3cret"], allowedNames: ["default:HOOK_SECRET"])
        let applied = try await store.applyConfiguration(yaml: yaml, workspace: "default", secrets: secrets)
        #expect(!applied.yaml.contains("s3cret"))
    }
}
