import AutomationEngine
import Hummingbird
import SegmentSpec

/// The event log of the admin key's workspace:
/// - `GET /api/events`: newest first, filtered by `type`, `name`, `userId`, `anonymousId`,
///   `messageId`, `since`/`until` (ISO-8601, on receipt time), paged with `cursor`; with
///   `after=<seq>` instead, the events after it, oldest first (how `herald events tail` follows).
/// - `GET /api/events/{seq}`: one event with its raw payload and explain trace.
/// - `GET /api/unmapped`: event names received that no mapping handles, with counts; paged.
struct EventsController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    let store: any ManagementStorage

    /// Bytes of events (raw JSON and settings) after which a page of `GET /api/events` ends.
    static var pageBytes: Int { 4 << 20 }

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("events") { request, context in try await list(request, admin: context.identity) }
        router.get("events/{seq}") { request, context in try await show(request, seq: context.parameters.path("seq"), admin: context.identity) }
        router.get("unmapped") { request, context in try await unmapped(request, admin: context.identity) }
        return router
    }

    private func list(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let parameters = QueryParameters(request)
        let limit = try parameters.limit()
        var query = EventQuery(
            type: try parameters.oneOf("type", EventType.allCases.map(\.rawValue)), name: parameters.text("name"),
            userId: parameters.text("userId"), anonymousId: parameters.text("anonymousId"), messageId: parameters.text("messageId"),
            since: try parameters.time("since"), until: try parameters.time("until"),
            before: try parameters.integer("cursor"), after: try parameters.integer("after"), limit: limit + 1)
        // Events are up to 32 KB each: a page also ends at about 4 MB of them, shorter than `limit`.
        query.maximumBytes = Self.pageBytes
        let page = try await store.events(workspace: identity.workspaceId, matching: query)
        let shown = Array(page.prefix(limit))
        let more = page.count > limit || page.reduce(0) { $0 + $1.byteCount } >= Self.pageBytes
        let traces = try await store.traces(seqs: shown.map(\.seq))
        var body = JSONObject()
        body["events"] = .array(shown.map { event in
            var item = event.detailJSON(explain: traces[event.seq])
            item["raw"] = nil  // one event's page shows it
            return .object(item)
        })
        // `after` follows the log forwards: the next request continues from the last one shown.
        body["nextCursor"] = more && query.after == nil ? .string(String(shown.last!.seq)) : .null
        return JSONResponse.make(body: .object(body))
    }

    private func show(_ request: Request, seq text: String, admin identity: KeyIdentity) async throws -> Response {
        guard let seq = Int64(text) else { throw HeraldHTTPError.badRequest("an event is addressed by its `seq` number, not \"\(text)\"") }
        guard let event = try await store.event(workspace: identity.workspaceId, seq: seq) else {
            throw HeraldHTTPError(.notFound, "no event \(seq) in workspace \(identity.workspaceId)")
        }
        return JSONResponse.make(body: .object(event.detailJSON(explain: try await store.trace(seq: seq))))
    }

    private func unmapped(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let parameters = QueryParameters(request)
        let limit = try parameters.limit()
        let after = try parameters.eventNamePosition("cursor")
        let page = try await store.unmappedEventNames(workspace: identity.workspaceId, after: after, limit: limit + 1)
        let shown = page.prefix(limit)
        return JSONResponse.make(body: [
            "unmapped": .array(shown.map { entry in
                var object = JSONObject()
                object["name"] = .string(entry.name)
                object["count"] = .number(JSONNumber(entry.count))
                object["lastSeenAt"] = .string(entry.lastSeenAt.iso8601)
                return .object(object)
            }),
            "nextCursor": page.count > limit ? .string(shown.last!.position.cursor) : .null,
        ])
    }
}
