import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// The page's runs and messages: lists (messages filtered by status and channel), one run
/// with its steps (and a cancel button while pending), one message with its status history.
/// Every run links to the event that started it and its recipient's profile; every message
/// to its run and recipient.
struct WebRunsController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let renderer: WebPageRenderer
    let gate: WebSessionGate

    func add(to router: Router<Context>) {
        router.get("/runs") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let before = try? QueryParameters(request).integer("cursor")
            let size = WebPageRenderer.pageSize
            let now = Timestamp(Date())
            let page = try await store.runs(workspace: session.identity.workspaceId, matching: RunQuery(before: before, limit: size + 1))
            let runs = page.prefix(size)
            var context: [String: Any] = ["runs": runs.map { Self.context($0, now: now) }, "hasRuns": !runs.isEmpty]
            if page.count > size, let last = runs.last { context["nextHref"] = "/runs?cursor=\(last.id)" }
            return renderer.page("runs", title: "Runs", context: context, session: session.page, nav: "runs")
        }
        router.get("/runs/{id}") { request, context in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            return try await run(session, id: context.parameters.path("id"))
        }
        router.post("/runs/{id}/cancel") { request, context in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            try WebSessionGate.checkCSRF(try await WebSessionGate.form(request), session: session)
            let text = context.parameters.path("id")
            guard let id = Int64(text) else { return try await run(session, id: text) }
            do {
                try await store.cancelRun(workspace: session.identity.workspaceId, id: id, reason: "on Herald's page", now: Timestamp(Date()))
                return try await run(session, id: text, flash: "Run #\(id) was cancelled.")
            } catch let error as RunCancellationError {
                return try await run(session, id: text, flash: error.description)
            }
        }
        router.get("/messages") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            return try await messages(request, session)
        }
        router.get("/messages/{id}") { request, context in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let id = context.parameters.path("id")
            guard let message = try await store.message(workspace: session.identity.workspaceId, id: id) else {
                return renderer.page("not-found", title: "Not found", context: ["message": "There is no message \(id) in this workspace."], session: session.page, status: .notFound)
            }
            var context = Self.context(message, now: Timestamp(Date()))
            if let run = try await store.run(workspace: session.identity.workspaceId, id: message.runId) {
                context["eventSeq"] = String(run.eventSeq)
                context["eventName"] = run.eventName ?? "event \(run.eventSeq)"
                context["automation"] = run.automation
            }
            return renderer.page("message", title: message.template, context: context, session: session.page, nav: "messages")
        }
    }

    /// The messages list, filtered by `status` and `channel` (a GET form, so a filter is a link).
    private func messages(_ request: Request, _ session: WebSession) async throws -> Response {
        let fields = WebText.formFields(request.uri.query)
        let status = fields["status"].flatMap(MessageStatus.init(rawValue:))
        let channel = fields["channel"].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        let size = WebPageRenderer.pageSize
        let now = Timestamp(Date())
        let page = try await store.messages(
            workspace: session.identity.workspaceId,
            matching: MessageQuery(status: status, channel: channel, before: fields["cursor"], limit: size + 1))
        let messages = page.prefix(size)
        let filtered = status != nil || channel != nil
        var context: [String: Any] = [
            "messages": messages.map { Self.context($0, now: now) }, "hasMessages": !messages.isEmpty, "filtered": filtered,
            "channel": channel ?? "",
            "statuses": MessageStatus.allCases.map { ["value": $0.rawValue, "selected": $0 == status] },
        ]
        if page.count > size, let last = messages.last {
            var query = ["cursor=\(WebText.query(last.id))"]
            if let status { query.append("status=\(status.rawValue)") }
            if let channel { query.append("channel=\(WebText.query(channel))") }
            context["nextHref"] = "/messages?" + query.joined(separator: "&")
        }
        return renderer.page("messages", title: "Messages", context: context, session: session.page, nav: "messages")
    }

    private func run(_ session: WebSession, id text: String, flash: String? = nil) async throws -> Response {
        guard let id = Int64(text), let run = try await store.run(workspace: session.identity.workspaceId, id: id) else {
            return renderer.page("not-found", title: "Not found", context: ["message": "There is no run \(text) in this workspace."], session: session.page, status: .notFound)
        }
        let now = Timestamp(Date())
        var context = Self.context(run, now: now)
        context["csrf"] = session.csrfToken
        context["steps"] = try await store.runHistory(runId: id).map { entry -> [String: Any] in
            ["at": WebText.time(entry.at, now: now), "step": String(entry.step), "outcome": WebText.html(entry.outcome)]
        }
        let messages = try await store.messages(workspace: session.identity.workspaceId, runId: id).map { Self.context($0, now: now) }
        context["messages"] = messages
        context["hasMessages"] = !messages.isEmpty
        return renderer.page("run", title: "Run #\(id)", context: context, session: session.page, nav: "runs", flash: flash)
    }

    /// A run for the page: its state as an operator reads it (`completed with failures` in
    /// red), when it started, what started it, and links.
    static func context(_ run: RunRecord, now: Timestamp) -> [String: Any] {
        var context: [String: Any] = [
            "id": String(run.id), "automation": run.automation, "recipient": run.recipient,
            "recipientHref": "/profiles/\(WebText.path(run.recipient))", "state": run.state, "stateDescription": run.stateDescription,
            "stateClass": run.failedMessages > 0 ? "failed" : run.state,
            "eventSeq": String(run.eventSeq), "eventName": run.eventName ?? "event \(run.eventSeq)", "configVersion": String(run.configVersion),
            "createdAt": WebText.time(run.createdAt, now: now), "updatedAt": WebText.time(run.updatedAt, now: now),
        ]
        if run.failedMessages > 0 { context["failedMessages"] = run.failedMessages == 1 ? "1 message failed" : "\(run.failedMessages) messages failed" }
        if run.state == "pending" {
            context["pending"] = true
            context["dueAt"] = WebText.time(run.dueAt, now: now)
        }
        if let token = run.token { context["token"] = token }
        return context
    }

    /// A message for the page: what was sent, to whom, and, when it failed or was skipped, why.
    static func context(_ message: MessageRecord, now: Timestamp) -> [String: Any] {
        var context: [String: Any] = [
            "id": message.id, "href": "/messages/\(WebText.path(message.id))", "runId": String(message.runId), "template": message.template,
            "recipient": message.recipient, "recipientHref": "/profiles/\(WebText.path(message.recipient))",
            "channel": message.channel ?? "no channel", "channelType": message.channelType ?? "none",
            "body": message.body ?? "", "status": message.status.rawValue, "createdAt": WebText.time(message.createdAt, now: now),
            "history": message.history.map { entry -> [String: Any] in
                var item: [String: Any] = ["at": WebText.time(entry.at, now: now), "status": entry.status.rawValue]
                if let reason = entry.reason { item["reason"] = WebText.html(reason) }
                return item
            },
        ]
        if let subject = message.subject, !subject.isEmpty { context["subject"] = subject }
        if [.undeliverable, .unroutable, .skipped].contains(message.status), let reason = message.history.last?.reason {
            context["failure"] = WebText.html(reason)
        }
        if message.status == .queued, let reason = message.history.last?.reason { context["note"] = WebText.html(reason) }
        return context
    }
}
