import AutomationEngine
import Testing

/// Every problem of a configuration is reported at its own line, whatever else is wrong in
/// the file; templates' problems are in words; names no event can have are warnings.
@Suite("Configuration: every problem at its own line, templates in words, names that never match")
struct ConfigurationProblemReportTests {
    static let file = """
        channels:
          log: { type: log }
        templates:
          welcome: { channel: log, body: "Hi" }
        automations:
          welcome-series:
            steps:
              - send: welcome
        mappings:
          - on: identify
            run: welcom
          - on: identify
            once_per: users
            run: welcome-series
          - on: track/Order Completed
            run: ghost
          - on: Signed Up
            run: welcome-series

        """

    static func problems(_ yaml: String) -> [ConfigurationIssue] {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: .none, requireSecrets: false)
            return []
        } catch {
            return error.issues
        }
    }

    @Test("a bad `once_per` neither hides an earlier mapping's unknown automation nor moves a later one's line")
    func everyMappingProblemAtItsLine() {
        let issues = Self.problems(Self.file)
        let found = issues.map { "\($0.line):\($0.column): \($0.message)" }
        #expect(found == [
            "11:10: mapping for `identify` runs automation `welcom`, which is not defined under `automations`",
            "13:15: `once_per` must be `user` or `group` (singular, not `users`)",
            "16:10: mapping for `track/Order Completed` runs automation `ghost`, which is not defined under `automations`",
        ])
    }

    @Test("a step after an invalid step keeps its own line for an unknown template")
    func stepsKeepTheirLines() {
        let yaml = """
            templates:
              t: { body: "x" }
            automations:
              a:
                steps:
                  - delay: soon
                  - send: nope

            """
        let found = Self.problems(yaml).map { "\($0.line):\($0.column): \($0.message)" }
        #expect(found == [
            "6:16: `delay` takes a duration such as `90s`, `10m`, `2d`, or `until: data.<path>`",
            "7:9: automation `a` sends template `nope`, which is not defined under `templates`",
        ])
    }

    @Test("a reference to a definition with a problem of its own is not also reported as undefined")
    func noCascade() {
        let yaml = """
            channels:
              mail: { type: carrier-pigeon }
            templates:
              t: { channel: mail, body: "x" }

            """
        let found = Self.problems(yaml).map(\.message)
        #expect(found == ["channel `mail` needs `type: webhook`, `type: smtp`, `type: inbox` or `type: log` (not `carrier-pigeon`)"])
    }

    @Test("`on:` names no event can have are warnings with the name meant; valid names are not", arguments: [
        ("Signed Up", "`on: Signed Up` can never match: Herald names a track event `track/<event>`; write `on: track/Signed Up` (or page/…, screen/…, identify, group, alias)"),
        ("Identify", "`on: Identify` can never match: event names are lowercase, write `on: identify`"),
        ("Track/Signed Up", "`on: Track/Signed Up` can never match: write `on: track/Signed Up` (the call type in lowercase)"),
        ("track/", "`on: track/` can never match: `track/` needs the event's name after it, such as `track/Order Completed`"),
    ])
    func neverMatchingNames(on: String, warning: String) throws {
        let yaml = "automations:\n  a: { steps: [ { update-profile: { x: 1 } } ] }\nmappings:\n  - on: \(on)\n    run: a\n"
        let configuration = try ConfigurationLoader.load(yaml: yaml, secrets: .none)
        #expect(configuration.warnings.map { "\($0.line):\($0.column): \($0.message)" } == ["4:9: \(warning)"])
    }

    @Test("names an event can have give no warning", arguments: ["identify", "group", "alias", "delete", "page", "screen", "track/Signed Up", "page/Home", "screen/Cart"])
    func matchingNames(on: String) throws {
        let yaml = "automations:\n  a: { steps: [ { update-profile: { x: 1 } } ] }\nmappings:\n  - on: \(on)\n    run: a\n"
        #expect(try ConfigurationLoader.load(yaml: yaml, secrets: .none).warnings.isEmpty)
    }

    @Test("template problems are said in words at their line and column, never as a Swift dump", arguments: [
        ("Hi {{#data.items}} there", "a section `{{#…}}` or `{{^…}}` is never closed with `{{/…}}`"),
        ("Hi {{#a}}x{{/b}}", "a closing tag `{{/…}}` does not match the section it closes"),
        ("Hi {{name", "a tag is not closed with `}}` (the template ends inside it)"),
        ("Hi {{/a}}", "a closing tag `{{/…}}` has no section to close"),
    ])
    func templateProblemsInWords(body: String, reason: String) {
        let yaml = "templates:\n  t:\n    body: \"\(body)\"\n"
        let issues = Self.problems(yaml)
        let messages = issues.map(\.message)
        #expect(messages.count == 1, "\(messages)")
        #expect(messages.first == "body of template `t` is not a valid template: \(reason)", "\(messages)")
        #expect(!messages.joined().contains("Mustache"))
        #expect(!messages.joined().contains("ParserError"))
        #expect(issues.first?.line == 3)
    }
}
