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
            let workspace = session.identity.workspaceId
            let fields = WebText.formFields(request.uri.query)
            var draft: String?
            // The dry-run box starts with a real event: the one asked for (`?event=<seq>`), else the
            // latest of the unmapped name being mapped (`?add=<name>`), else the latest event.
            var sample: StoredEvent?
            if let seq = fields["event"].flatMap({ Int64($0) }) { sample = try await store.event(workspace: workspace, seq: seq) }
            if let name = fields["add"] {
                let current = try await store.currentConfiguration(workspace: workspace)?.yaml ?? ""
                draft = Self.adding(mappingFor: name, to: current)
                if sample == nil { sample = try await store.events(workspace: workspace, matching: EventQuery(name: name, limit: 1)).first }
            }
            if sample == nil { sample = try await store.events(workspace: workspace, matching: EventQuery(limit: 1)).first }
            return try await page(
                session, draft: draft, event: sample.map { Self.eventText($0.raw) },
                flash: draft == nil ? nil : "A mapping for this event was added at the end; choose its automation and apply.")
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
                return try await page(session, event: fields["event"], flash: flash)
            } catch let error as ConfigurationError {
                return try await page(session, draft: yaml, issues: error.issues, event: fields["event"], status: .unprocessableContent)
            }
        }
        router.post("/config/test") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let fields = try await WebSessionGate.form(request)
            try WebSessionGate.checkCSRF(fields, session: session)
            let text = fields["event"] ?? ""
            // The draft in the editor is what is tried, not the version in force.
            let draft = fields["yaml"].map { $0.replacingOccurrences(of: "\r\n", with: "\n") }.flatMap { $0.isEmpty ? nil : $0 }
            guard let event = (try? JSONParser.parse(text))?.objectValue else {
                return try await page(session, draft: draft, event: text, dryRunError: "The event must be a JSON object, like the ones Segment's Event Tester sends.")
            }
            do {
                let report = try await dryRun.evaluate(event: event, workspace: session.identity.workspaceId, draftYAML: draft)
                return try await page(session, draft: draft, event: text, dryRun: Self.context(report))
            } catch let error as EventValidationError {
                return try await page(session, draft: draft, event: text, dryRunError: "Herald would refuse this event: \(error)")
            } catch let error as ConfigurationError {
                return try await page(
                    session, draft: draft, issues: error.issues, event: text,
                    dryRunError: "The draft has problems (listed above); fix them to try it.", status: .unprocessableContent)
            }
        }
    }

    /// A stored event's raw JSON, indented for the dry-run box.
    static func eventText(_ raw: String) -> String {
        (try? JSONParser.parse(raw)).map(\.prettyText) ?? raw
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
            context["appliedAt"] = WebText.time(current.appliedAt, now: Timestamp(Date()))
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
        // Warnings of the text in the editor (valid, but probably not meant).
        if issues.isEmpty, let shown = try? ConfigurationLoader.load(yaml: yaml, secrets: .none, requireSecrets: false), !shown.warnings.isEmpty {
            context["hasWarnings"] = true
            context["warnings"] = shown.warnings.map { ["line": String($0.line), "column": String($0.column), "message": WebText.html($0.message)] }
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
        var context: [String: Any] = ["name": report.event.name, "draft": report.draft]
        if let summary = report.explain["summary"]?.stringValue { context["summary"] = WebText.html(summary) }
        context["mappings"] = (report.explain["mappings"]?.arrayValue ?? []).map {
            ["on": $0["on"]?.stringValue ?? "", "result": WebText.html($0["result"]?.stringValue ?? "")]
        }
        context["runs"] = report.runs.map { run -> [String: Any] in
            [
                "automation": run.automation, "recipient": run.recipient, "endState": run.endState,
                "steps": run.steps.map { ["outcome": WebText.html($0.outcome)] },
                "messages": run.messages.map { message -> [String: Any] in
                    var item: [String: Any] = [
                        "template": message.template, "channel": message.channel ?? "no channel", "status": message.status.rawValue,
                        "subject": message.subject ?? "", "body": message.body ?? "",
                    ]
                    if let reason = message.history.last?.reason { item["reason"] = WebText.html(reason) }
                    return item
                },
                // The exact HTTP request of each webhook message, as the mailer will get it.
                "requests": run.webhookRequests.map { request -> [String: Any] in
                    let head = ["\(request.method) \(request.url)"] + request.headers.map { "\($0.name): \($0.value)" }
                    return ["text": head.joined(separator: "\n") + "\n\n" + request.body.prettyText]
                },
            ]
        }
        return context
    }
}
