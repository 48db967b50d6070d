import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// Runs of automations:
/// - `GET /api/runs`: newest first, filtered by `state`, `automation`, `userId`, paged with `cursor`;
/// - `GET /api/runs/{id}`: one run with its step history and messages;
/// - `POST /api/runs/{id}/cancel`: cancel a pending run;
/// - `POST /api/runs/cancel` with `{"token": "..."}`: cancel every pending run with that
///   token, and keep it in force for the engine's TTL like a `cancel:` mapping.
struct RunsController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    let store: any ManagementStorage
    let bodyReader: RequestBodyReader
    let cancellationTTL: Duration

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("runs") { request, context in try await list(request, admin: context.identity) }
        router.get("runs/{id}") { request, context in try await show(request, id: context.parameters.path("id"), admin: context.identity) }
        router.post("runs/{id}/cancel") { request, context in try await cancel(request, id: context.parameters.path("id"), admin: context.identity) }
        router.post("runs/cancel") { request, context in try await cancelByToken(request, admin: context.identity) }
        return router
    }

    private func list(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let parameters = QueryParameters(request)
        let limit = try parameters.limit()
        var recipient: String?
        if let user = parameters.text("userId") {
            recipient = try await store.profile(workspace: identity.workspaceId, id: user)?.id ?? user
        }
        let page = try await store.runs(workspace: identity.workspaceId, matching: RunQuery(
            state: try parameters.oneOf("state", ["pending", "cancelled", "completed", "failed"]), automation: parameters.text("automation"),
            recipient: recipient, before: try parameters.integer("cursor"), limit: limit + 1))
        let shown = page.prefix(limit)
        return JSONResponse.make(body: [
            "runs": .array(shown.map { .object($0.json) }),
            "nextCursor": page.count > limit ? .string(String(shown.last!.id)) : .null,
        ])
    }

    private func show(_ request: Request, id text: String, admin identity: KeyIdentity) async throws -> Response {
        let id = try Self.runId(text)
        guard let run = try await store.run(workspace: identity.workspaceId, id: id) else {
            throw HeraldHTTPError(.notFound, "no run \(id) in workspace \(identity.workspaceId)")
        }
        var body = run.json
        body["steps"] = .array(try await store.runHistory(runId: id).map(\.json))
        body["messages"] = .array(try await store.messages(workspace: identity.workspaceId, runId: id).map { .object($0.json()) })
        return JSONResponse.make(body: .object(body))
    }

    private func cancel(_ request: Request, id text: String, admin identity: KeyIdentity) async throws -> Response {
        let id = try Self.runId(text)
        do {
            let run = try await store.cancelRun(workspace: identity.workspaceId, id: id, reason: "through the API", now: Timestamp(Date()))
            return JSONResponse.make(body: .object(run.json))
        } catch let error as RunCancellationError {
            switch error {
            case .unknownRun: throw HeraldHTTPError(.notFound, error.description)
            case .notPending: throw HeraldHTTPError(.conflict, error.description)
            }
        }
    }

    private func cancelByToken(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let body = try await RequestJSON.object(from: request, reader: bodyReader)
        guard let token = body["token"]?.stringValue, !token.isEmpty else {
            throw HeraldHTTPError.badRequest("send `{\"token\": \"...\"}`: the cancellation token of the runs to cancel (e.g. \"order-1234\")")
        }
        let result = try await store.cancelRuns(workspace: identity.workspaceId, token: token, ttl: cancellationTTL, now: Timestamp(Date()))
        // Events can start any number of runs with one token: the answer lists the first 1,000 ids and counts them all.
        return JSONResponse.make(body: [
            "token": .string(token),
            "cancelled": .array(result.cancelled.prefix(Self.listedCancellations).map { .number(JSONNumber($0)) }),
            "cancelledCount": .number(JSONNumber(result.cancelled.count)),
            "inForceUntil": .string(result.inForceUntil.iso8601),
        ])
    }

    /// Most run ids `POST /api/runs/cancel` lists.
    static var listedCancellations: Int { 1000 }

    private static func runId(_ text: String) throws -> Int64 {
        guard let id = Int64(text) else { throw HeraldHTTPError.badRequest("a run is addressed by its number, not \"\(text)\"") }
        return id
    }
}
