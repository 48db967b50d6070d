import AutomationEngine
import Hummingbird
import SegmentSpec

/// What-if endpoints, for developers writing mappings:
/// - `POST /api/test` with `{"event": {...}, "config": "<draft YAML>"?}`: the mappings that
///   would match, each condition's values, the runs and rendered messages; no side effects;
/// - `POST /api/replay` with `{"from": ISO, "to": ISO, "dryRun": bool}`: re-evaluate stored
///   events against the current configuration; a real replay never starts an automation
///   twice for the same event.
struct DryRunController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    let store: any ManagementStorage
    let dryRuns: DryRun
    let replays: Replayer
    let bodyReader: RequestBodyReader

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.post("test") { request, context in try await test(request, admin: context.identity) }
        router.post("replay") { request, context in try await replay(request, admin: context.identity) }
        return router
    }

    private func test(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let body = try await RequestJSON.object(from: request, reader: bodyReader)
        guard let event = body["event"]?.objectValue else {
            throw HeraldHTTPError.badRequest("send `{\"event\": {...}}`: the Segment event to try (and optionally `\"config\"`: a draft configuration as YAML)")
        }
        var draft: String?
        if let config = body["config"], config != .null {
            guard let text = config.stringValue else { throw HeraldHTTPError.badRequest("`config` must be the draft configuration as a YAML string") }
            draft = text
        }
        do {
            let report = try await dryRuns.evaluate(event: event, workspace: identity.workspaceId, draftYAML: draft)
            return JSONResponse.make(body: report.json)
        } catch let error as EventValidationError {
            throw HeraldHTTPError.badRequest("the event would be refused: \(error)")
        } catch let error as ConfigurationError {
            return ConfigurationController<Context>.invalid(error)
        }
    }

    private func replay(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let body = try await RequestJSON.object(from: request, reader: bodyReader, emptyIsObject: true)
        func time(_ key: String) throws -> Timestamp? {
            guard let value = body[key], value != .null else { return nil }
            guard let text = value.stringValue, let time = Timestamp(iso8601: text) else {
                throw HeraldHTTPError.badRequest("`\(key)` must be an ISO-8601 time such as 2026-11-23T08:00:00Z")
            }
            return time
        }
        let from = try time("from")
        let to = try time("to")
        if let from, let to, from >= to { throw HeraldHTTPError.badRequest("`from` must be before `to`") }
        var dryRun = false
        if let value = body["dryRun"], value != .null {
            guard case .bool(let flag) = value else { throw HeraldHTTPError.badRequest("`dryRun` must be true or false") }
            dryRun = flag
        }
        guard try await store.currentConfiguration(workspace: identity.workspaceId) != nil else {
            throw ConfigurationController<Context>.noConfiguration(identity)
        }
        let report = try await replays.replay(workspace: identity.workspaceId, from: from, to: to, dryRun: dryRun)
        return JSONResponse.make(body: report.json)
    }
}
