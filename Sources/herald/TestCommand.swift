import ArgumentParser
import AutomationEngine
import DestinationServer
import Foundation
import SegmentSpec

/// `herald test herald.yaml --event e.json`: a dry run offline.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Dry-run an event against a configuration: matching mappings, condition values, runs and rendered messages.",
        discussion: """
            Runs the real engine on the event inside a transaction that is rolled back: nothing \
            is stored, no webhook is called, and a `delay` step jumps ahead on a simulated clock. \
            Without --db it uses an empty temporary database (no profiles, nothing ran before); \
            with --db, conditions and templates see that database's profiles, once_per ledger \
            and cancellations, and the database is left unchanged. ${ENV} references in the \
            configuration need not be set.

            --json prints the report exactly as the server's `POST /api/test` returns it.

            Examples:
              herald test herald.yaml --event order.json
              herald test -f herald.yaml --event order.json --db ./herald.sqlite --json
            """
    )

    @OptionGroup var configurationFile: ConfigurationFileArgument

    /// The configuration file (herald.yaml) to evaluate, as a draft.
    var file: String { configurationFile.path }

    @Option(help: "A file holding one Segment event as JSON (identify, track, page, screen, group, alias).")
    var event: String

    @Flag(help: "Print the report as JSON (the `POST /api/test` shape).")
    var json = false

    @Option(help: "Evaluate against this database's profiles and history (it is not changed). Default: an empty temporary one.")
    var db: String?

    @Option(help: "The workspace whose data is used (with --db).")
    var workspace: String = "default"

    func run() async throws {
        guard let yaml = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CommandFailure("cannot read \(file); check the path")
        }
        let object = try Self.readEvent(event)
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: .none, requireSecrets: false)
        } catch {
            for issue in error.issues { Console.error("\(file):\(issue.line):\(issue.column): \(issue.message)") }
            throw CommandFailure("\(file) is invalid: fix the problems above (`herald check \(file)` lists them too); nothing was evaluated")
        }

        var temporary: URL?
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        let store: HeraldStore
        if let db {
            let path = DatabasePath.resolve(db)
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure("there is no database at \(path): pass the file `herald serve` uses, or leave out --db to test against an empty database")
            }
            store = try DatabasePath.open(path)
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            temporary = directory
            store = try DatabasePath.open(directory.appendingPathComponent("herald.sqlite").path)
        }

        let report: DryRunReport
        do {
            report = try await DryRun(store: store).evaluate(event: object, workspace: workspace, draftYAML: yaml)
        } catch let error as EventValidationError {
            throw CommandFailure("Herald would refuse the event in \(event): \(error). Fix the event and try again.")
        } catch let error as ConfigurationError {
            for issue in error.issues { Console.error("\(file):\(issue.line):\(issue.column): \(issue.message)") }
            throw CommandFailure("\(file) is invalid: fix the problems above; nothing was evaluated")
        }
        let output = report.managementJSON
        if json {
            Console.line(JSONText.pretty(output))
        } else {
            for line in DryRunText.lines(output, configurationFile: file) { Console.line(line) }
        }
    }

    /// The event file's JSON object, or an error that says what is wrong with it.
    static func readEvent(_ path: String) throws -> JSONObject {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("cannot read event file \(path); check the path")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(Array(data))
        } catch {
            throw CommandFailure("\(path) is not valid JSON (\(error.reason) at byte \(error.offset)); it must hold one Segment event object")
        }
        guard let object = value.objectValue else {
            throw CommandFailure("\(path) holds a JSON \(value.kindName), not an object: give one Segment event such as {\"type\": \"track\", \"event\": \"Order Completed\", \"userId\": \"u1\"}")
        }
        return object
    }
}

/// The readable form of a dry-run report (the `POST /api/test` JSON).
enum DryRunText {
    static func lines(_ report: JSONValue, configurationFile: String) -> [String] {
        var lines: [String] = []
        let event = report["event"]
        lines.append("Event, as Herald read it")
        lines.append(contentsOf: eventLines(event))
        let version = report["configVersion"]?.numberValue.map { " (would be version \($0))" } ?? ""
        lines.append("")
        lines.append("Configuration: \(configurationFile)\(version), evaluated as a draft; nothing was applied or stored")
        lines.append("")
        lines.append(contentsOf: explainLines(report["explain"], indent: ""))
        let runs = report["runs"]?.arrayValue ?? []
        lines.append("")
        lines.append(runs.isEmpty ? "Runs: none would start" : "Runs (\(runs.count))")
        for run in runs { lines.append(contentsOf: runLines(run)) }
        return lines
    }

    /// Type, name, ids, data and warnings of an event (a dry-run or an events-list item).
    static func eventLines(_ event: JSONValue?, indent: String = "  ") -> [String] {
        var lines: [String] = []
        func field(_ label: String, _ value: String) {
            lines.append(indent + (label + ":").padding(toLength: 13, withPad: " ", startingAt: 0) + value)
        }
        field("type", JSONText.plain(event?["type"]))
        field("name", JSONText.plain(event?["name"]))
        field("messageId", JSONText.plain(event?["messageId"]))
        field("userId", event?["userId"]?.stringValue ?? "(none)")
        field("anonymousId", event?["anonymousId"]?.stringValue ?? "(none)")
        if let timestamp = event?["timestamp"]?.stringValue { field("timestamp", timestamp) }
        field("data", event?["data"].map { $0.isNull ? "(none)" : $0.encodedString() } ?? "(none)")
        let warnings = event?["warnings"]?.arrayValue ?? []
        if warnings.isEmpty {
            field("warnings", "none")
        } else {
            field("warnings", "\(warnings.count)")
            for warning in warnings { lines.append(indent + "  - " + JSONText.plain(warning)) }
        }
        return lines
    }

    /// The explain trace: each mapping considered with its condition, values and result,
    /// the effects on profiles and groups, and the summary.
    static func explainLines(_ explain: JSONValue?, indent: String) -> [String] {
        guard let explain, !explain.isNull else { return [indent + "Explain: not processed yet"] }
        var lines: [String] = []
        let mappings = explain["mappings"]?.arrayValue ?? []
        lines.append(indent + (mappings.isEmpty ? "Mappings considered: none" : "Mappings considered (\(mappings.count))"))
        for mapping in mappings {
            let line = mapping["line"]?.numberValue.map { "line \($0): " } ?? ""
            lines.append(indent + "  \(line)on \(JSONText.plain(mapping["on"]))")
            if let when = mapping["when"]?.stringValue {
                lines.append(indent + "    when:   \(when)")
                lines.append(indent + "    value:  \(JSONText.plain(mapping["value"]))")
                let saw = (mapping["saw"]?.arrayValue ?? []).map(JSONText.plain)
                if !saw.isEmpty { lines.append(indent + "    saw:    \(saw.joined(separator: "; "))") }
            }
            lines.append(indent + "    result: \(JSONText.plain(mapping["result"]))")
        }
        let effects = explain["effects"]?.arrayValue ?? []
        if !effects.isEmpty {
            lines.append(indent + "Effects")
            for effect in effects { lines.append(indent + "  - " + JSONText.plain(effect)) }
        }
        if let summary = explain["summary"]?.stringValue { lines.append(indent + "Summary: \(summary)") }
        return lines
    }

    static func runLines(_ run: JSONValue) -> [String] {
        var lines: [String] = []
        let automation = JSONText.plain(run["automation"])
        let recipient = run["recipient"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? "(no recipient)"
        lines.append("  \(automation) for \(recipient): starts \(JSONText.plain(run["startState"])), ends \(JSONText.plain(run["endState"]))")
        for step in run["steps"]?.arrayValue ?? [] {
            lines.append("    step \(JSONText.plain(step["step"])) at \(JSONText.plain(step["at"])): \(JSONText.plain(step["outcome"]))")
        }
        let messages = run["messages"]?.arrayValue ?? []
        for message in messages {
            let channelType = message["channelType"]?.stringValue.map { " (\($0))" } ?? ""
            lines.append("    message: template \(JSONText.plain(message["template"])) via \(message["channel"]?.stringValue ?? "(no channel)")\(channelType) to \(JSONText.plain(message["recipient"]))")
            if let subject = message["subject"]?.stringValue { lines.append("      subject: \(subject)") }
            if let body = message["body"]?.stringValue { lines.append("      body:    \(body)") }
            let reason = message["history"]?.arrayValue?.last?["reason"]?.stringValue.map { " (\($0))" } ?? ""
            lines.append("      status:  \(JSONText.plain(message["status"]))\(reason)")
        }
        // The exact request each webhook message is POSTed as: what a mailer author codes against.
        for request in run["webhookRequests"]?.arrayValue ?? [] {
            lines.append("    webhook request of \(JSONText.plain(request["messageId"])):")
            lines.append("      \(JSONText.plain(request["method"])) \(JSONText.plain(request["url"]))")
            for header in request["headers"]?.arrayValue ?? [] {
                lines.append("      \(JSONText.plain(header["name"])): \(JSONText.plain(header["value"]))")
            }
            lines.append("")
            for line in JSONText.pretty(request["body"] ?? .null).split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append("      " + line)
            }
        }
        return lines
    }
}
