import AutomationEngine
import Hummingbird
import SegmentSpec

/// `GET /api/events`: the most recent events of the admin key's workspace, newest first,
/// with how Herald read each one (name, ids, timestamps, warnings), its raw JSON and the
/// engine's explain trace.
struct EventsController<Context: RequestContext>: Sendable {
    let store: HeraldStore
    let authenticator: AdminAuthenticator

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get { request, _ in try await list(request) }
        return routes
    }

    func list(_ request: Request) async throws -> Response {
        let identity = try await authenticator.requireAdmin(request)
        var limit = 50
        if let text = request.uri.queryParameters["limit"] {
            guard let value = Int(String(text)), (1...1000).contains(value) else {
                throw HeraldHTTPError.badRequest("`limit` must be a whole number from 1 to 1000")
            }
            limit = value
        }
        let events = try await store.recentEvents(workspace: identity.workspaceId, limit: limit)
        let traces = try await store.traces(seqs: events.map(\.seq))
        return JSONResponse.make(body: ["events": .array(events.map { event in
            guard case .object(var summary) = event.summaryJSON else { return event.summaryJSON }
            // null until the engine has processed the event
            summary["explain"] = traces[event.seq] ?? .null
            return .object(summary)
        })])
    }
}

extension StoredEvent {
    /// The event as the management API shows it.
    var summaryJSON: JSONValue {
        var object = JSONObject()
        object["seq"] = .number(JSONNumber(seq))
        object["messageId"] = .string(messageId)
        object["type"] = .string(type)
        object["name"] = .string(name)
        object["userId"] = userId.map(JSONValue.string) ?? .null
        object["anonymousId"] = anonymousId.map(JSONValue.string) ?? .null
        object["receivedAt"] = .string(receivedAt.iso8601)
        object["timestamp"] = .string(timestamp.iso8601)
        object["warnings"] = .array(warnings.map(JSONValue.string))
        if let settings, let parsed = try? JSONParser.parse(settings) { object["settings"] = parsed }
        object["raw"] = json ?? .string(raw)
        return .object(object)
    }
}
