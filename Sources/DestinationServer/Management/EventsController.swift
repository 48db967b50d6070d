import AutomationEngine
import Hummingbird
import SegmentSpec

/// The event log of the admin key's workspace:
/// - `GET /api/events`: newest first, filtered by `type`, `name`, `userId`, `anonymousId`,
///   `messageId`, `since`/`until` (ISO-8601, on receipt time), paged with `cursor`; with
///   `after=<seq>` instead, the events after it, oldest first (how `herald events tail` follows).
/// - `GET /api/events/{seq}`: one event with its raw payload and explain trace.
/// - `GET /api/unmapped`: event names received that no mapping handles, with counts; paged.
struct EventsController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let authenticator: AdminAuthenticator

    /// Bytes of events (raw JSON and settings) after which a page of `GET /api/events` ends.
    static var pageBytes: Int { 4 << 20 }

    func add(to router: Router<Context>) {
        router.get("/api/events") { request, _ in try await list(request) }
        router.get("/api/events/{seq}") { request, context in try await show(request, seq: context.parameters.path("seq")) }
        router.get("/api/unmapped") { request, _ in try await unmapped(request) }
    }

    func list(_ request: Request) async throws -> Response {
        let identity = try await authenticator.requireAdmin(request)
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

    func show(_ request: Request, seq text: String) async throws -> Response {
        let identity = try await authenticator.requireAdmin(request)
        guard let seq = Int64(text) else { throw HeraldHTTPError.badRequest("an event is addressed by its `seq` number, not \"\(text)\"") }
        guard let event = try await store.event(workspace: identity.workspaceId, seq: seq) else {
            throw HeraldHTTPError(.notFound, "no event \(seq) in workspace \(identity.workspaceId)")
        }
        return JSONResponse.make(body: .object(event.detailJSON(explain: try await store.trace(seq: seq))))
    }

    func unmapped(_ request: Request) async throws -> Response {
        let identity = try await authenticator.requireAdmin(request)
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
