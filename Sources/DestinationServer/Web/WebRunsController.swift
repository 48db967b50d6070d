import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// The page's runs and messages: lists, one run with its steps (and a cancel button while
/// pending), one message with its status history.
struct WebRunsController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let renderer: WebPageRenderer
    let gate: WebSessionGate

    func add(to router: Router<Context>) {
        router.get("/runs") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let before = try? QueryParameters(request).integer("cursor")
            let size = WebPageRenderer.pageSize
            let page = try await store.runs(workspace: session.identity.workspaceId, matching: RunQuery(before: before, limit: size + 1))
            let runs = page.prefix(size)
            var context: [String: Any] = ["runs": runs.map(Self.context), "hasRuns": !runs.isEmpty]
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
            let size = WebPageRenderer.pageSize
            let page = try await store.messages(
                workspace: session.identity.workspaceId, matching: MessageQuery(before: QueryParameters(request).text("cursor"), limit: size + 1))
            let messages = page.prefix(size)
            var context: [String: Any] = ["messages": messages.map(Self.context), "hasMessages": !messages.isEmpty]
            if page.count > size, let last = messages.last {
                context["nextHref"] = "/messages?cursor=\(last.id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? last.id)"
            }
            return renderer.page("messages", title: "Messages", context: context, session: session.page, nav: "messages")
        }
        router.get("/messages/{id}") { request, context in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            let id = context.parameters.path("id")
            guard let message = try await store.message(workspace: session.identity.workspaceId, id: id) else {
                return renderer.page("not-found", title: "Not found", context: ["message": "There is no message \(id) in this workspace."], session: session.page, status: .notFound)
            }
            return renderer.page("message", title: message.template, context: Self.context(message), session: session.page, nav: "messages")
        }
    }

    private func run(_ session: WebSession, id text: String, flash: String? = nil) async throws -> Response {
        guard let id = Int64(text), let run = try await store.run(workspace: session.identity.workspaceId, id: id) else {
            return renderer.page("not-found", title: "Not found", context: ["message": "There is no run \(text) in this workspace."], session: session.page, status: .notFound)
        }
        var context = Self.context(run)
        context["csrf"] = session.csrfToken
        context["steps"] = try await store.runHistory(runId: id).map { ["at": $0.at.iso8601, "step": String($0.step), "outcome": $0.outcome] }
        context["messages"] = try await store.messages(workspace: session.identity.workspaceId, runId: id).map(Self.context)
        return renderer.page("run", title: "Run #\(id)", context: context, session: session.page, nav: "runs", flash: flash)
    }

    static func context(_ run: RunRecord) -> [String: Any] {
        var context: [String: Any] = [
            "id": String(run.id), "automation": run.automation, "recipient": run.recipient, "state": run.state,
            "eventSeq": String(run.eventSeq), "configVersion": String(run.configVersion),
            "dueAt": run.state == "pending" ? run.dueAt.iso8601 : "—",
        ]
        if run.state == "pending" { context["pending"] = true }
        if let token = run.token { context["token"] = token }
        return context
    }

    static func context(_ message: MessageRecord) -> [String: Any] {
        [
            "id": message.id, "runId": String(message.runId), "template": message.template, "recipient": message.recipient,
            "channel": message.channel ?? "none", "channelType": message.channelType ?? "—", "subject": message.subject ?? "",
            "body": message.body ?? "", "status": message.status.rawValue, "createdAt": message.createdAt.iso8601,
            "history": message.history.map { entry -> [String: Any] in
                var item: [String: Any] = ["at": entry.at.iso8601, "status": entry.status.rawValue]
                if let reason = entry.reason { item["reason"] = reason }
                return item
            },
        ]
    }
}
