import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// The page's configuration view and editor (`/config`): the mappings in force, the YAML to
/// edit with every problem shown at its line, and a dry-run box. `?add=<event name>` starts
/// a mapping for an unmapped event.
struct WebConfigurationController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let dryRun: DryRun
    let renderer: WebPageRenderer
    let gate: WebSessionGate

    func add(to router: Router<Context>) {
        router.get("/config") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            var draft: String?
            if let name = QueryParameters(request).text("add") {
                let current = try await store.currentConfiguration(workspace: session.identity.workspaceId)?.yaml ?? ""
                draft = Self.adding(mappingFor: name, to: current)
            }
            return try await page(session, draft: draft, flash: draft == nil ? nil : "A mapping for this event was added at the end; choose its automation and apply.")
        }
        router.post("/config") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let fields = try await WebSessionGate.form(request)
            try WebSessionGate.checkCSRF(fields, session: session)
            let yaml = (fields["yaml"] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
            do {
                let applied = try await store.applyConfigurationIfChanged(yaml: yaml, workspace: session.identity.workspaceId)
                let flash = applied.isUnchanged
                    ? "Unchanged: this is version \(applied.version.version), already in force; nothing was stored."
                    : "Applied: version \(applied.version.version) is in force."
                return try await page(session, flash: flash)
            } catch let error as ConfigurationError {
                return try await page(session, draft: yaml, issues: error.issues, status: .unprocessableContent)
            }
        }
        router.post("/config/test") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let fields = try await WebSessionGate.form(request)
            try WebSessionGate.checkCSRF(fields, session: session)
            let text = fields["event"] ?? ""
            guard let event = (try? JSONParser.parse(text))?.objectValue else {
                return try await page(session, event: text, dryRunError: "The event must be a JSON object, like the ones Segment's Event Tester sends.")
            }
            do {
                let report = try await dryRun.evaluate(event: event, workspace: session.identity.workspaceId)
                return try await page(session, event: text, dryRun: Self.context(report))
            } catch let error as EventValidationError {
                return try await page(session, event: text, dryRunError: "Herald would refuse this event: \(error)")
            }
        }
    }

    private func page(
        _ session: WebSession, draft: String? = nil, issues: [ConfigurationIssue] = [], event: String? = nil,
        dryRun: [String: Any]? = nil, dryRunError: String? = nil, flash: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let current = try await store.currentConfiguration(workspace: session.identity.workspaceId)
        let yaml = draft ?? current?.yaml ?? "channels:\n  inbox: { type: inbox }\ntemplates: {}\nautomations: {}\nmappings: []\n"
        var context: [String: Any] = ["yaml": yaml, "csrf": session.csrfToken, "event": event ?? Self.sampleEvent]
        if let current, let configuration = try? ConfigurationLoader.load(yaml: current.yaml, secrets: .none, requireSecrets: false) {
            context["version"] = String(current.version)
            context["appliedAt"] = current.appliedAt.iso8601
            context["mappings"] = configuration.mappings.map { mapping -> [String: Any] in
                let does: String
                switch mapping.action {
                case .run(let automation): does = "run \(automation)" + (mapping.oncePer.map { " (once per \($0.rawValue))" } ?? "")
                case .cancel(let token): does = "cancel runs with token \(token)"
                }
                return ["on": mapping.on, "when": mapping.whenText ?? "", "does": does]
            }
            context["hasMappings"] = !configuration.mappings.isEmpty
            context["automations"] = configuration.automations.map(\.name).joined(separator: ", ")
            context["templates"] = configuration.templates.map(\.name).joined(separator: ", ")
            context["channels"] = configuration.channels.map(\.name).joined(separator: ", ")
        }
        if !issues.isEmpty {
            context["hasIssues"] = true
            context["issues"] = issues.map { ["line": String($0.line), "column": String($0.column), "message": $0.message] }
            let problems = Dictionary(issues.map { ($0.line, $0.message) }, uniquingKeysWith: { first, _ in first })
            context["lines"] = yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated().map { index, line -> [String: Any] in
                var entry: [String: Any] = ["number": String(index + 1), "text": String(line)]
                if let problem = problems[index + 1] { entry["problem"] = problem }
                return entry
            }
        }
        if let dryRun { context["dryRun"] = dryRun }
        if let dryRunError { context["dryRunError"] = dryRunError }
        return renderer.page("config", title: "Mappings", context: context, session: session.page, nav: "config", flash: flash, status: status)
    }

    /// The YAML with a new mapping for `name` appended to its `mappings:` list.
    static func adding(mappingFor name: String, to yaml: String) -> String {
        let quoted = JSONValue.string(name).encodedString()
        let entry = "  - on: \(quoted)\n    run: CHOOSE-AN-AUTOMATION\n"
        var text = yaml.hasSuffix("\n") || yaml.isEmpty ? yaml : yaml + "\n"
        if text.range(of: "mappings: []") != nil {
            text = text.replacingOccurrences(of: "mappings: []", with: "mappings:")
        }
        if text.range(of: "(?m)^mappings:", options: .regularExpression) == nil {
            text += "mappings:\n"
        }
        return text + entry
    }

    static var sampleEvent: String { #"{"type":"track","event":"Segment Test Event Name","userId":"test-user","properties":{"property1":1}}"# }

    static func context(_ report: DryRunReport) -> [String: Any] {
        var context: [String: Any] = ["name": report.event.name]
        if let summary = report.explain["summary"]?.stringValue { context["summary"] = summary }
        context["mappings"] = (report.explain["mappings"]?.arrayValue ?? []).map { ["on": $0["on"]?.stringValue ?? "", "result": $0["result"]?.stringValue ?? ""] }
        context["runs"] = report.runs.map { run -> [String: Any] in
            [
                "automation": run.automation, "recipient": run.recipient, "endState": run.endState,
                "steps": run.steps.map { ["outcome": $0.outcome] },
                "messages": run.messages.map { ["template": $0.template, "channel": $0.channel ?? "no channel", "status": $0.status.rawValue, "subject": $0.subject ?? "", "body": $0.body ?? ""] },
            ]
        }
        return context
    }
}
