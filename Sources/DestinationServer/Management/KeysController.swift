import AutomationEngine
import Hummingbird
import SegmentSpec

/// API keys of the admin key's workspace:
/// - `GET /api/keys`: every key's id (its visible prefix), scope and dates, never the key; paged;
/// - `POST /api/keys` with `{"scope": "ingest"|"admin"}`: 201 with the new key, shown this once;
///   409 when the workspace has ``HeraldStore/maximumActiveKeysPerWorkspace`` active keys;
/// - `DELETE /api/keys/{id}`: revoke; requests with the key get 401 from then on;
/// - `GET /api/auth-failures`: ingest requests refused with 401 lately (a key's visible
///   prefix, never a key; how often; when last), for "is Segment sending the right key?".
struct KeysController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    let store: any ManagementStorage
    let bodyReader: RequestBodyReader
    let failures: AuthenticationFailureLog

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("auth-failures") { request, context in
            let identity = try context.identity
            return JSONResponse.make(body: ["failures": .array(failures.recent(workspace: identity.workspaceId).map(\.json))])
        }
        router.get("keys") { request, context in
            let identity = try context.identity
            let parameters = QueryParameters(request)
            let limit = try parameters.limit()
            let cursor = parameters.text("cursor")
            let page: [APIKeyRecord]
            do {
                page = try await store.keys(workspace: identity.workspaceId, after: cursor, limit: limit + 1)
            } catch KeyStoreError.unknownKey {
                throw HeraldHTTPError.badRequest("`cursor` \"\(cursor ?? "")\" is not a key of this workspace; use the `nextCursor` of a previous page")
            }
            let shown = page.prefix(limit)
            return JSONResponse.make(body: [
                "keys": .array(shown.map { .object($0.json) }),
                "nextCursor": page.count > limit ? .string(shown.last!.id) : .null,
            ])
        }
        router.post("keys") { request, context in
            let identity = try context.identity
            let body = try await RequestJSON.object(from: request, reader: bodyReader)
            guard let scope = body["scope"]?.stringValue.flatMap(KeyScope.init(rawValue:)) else {
                throw HeraldHTTPError.badRequest("send `{\"scope\": \"ingest\"}` (for Segment) or `{\"scope\": \"admin\"}` (for this API)")
            }
            let created: HeraldStore.CreatedKey
            do {
                created = try await store.createKey(workspace: identity.workspaceId, scope: scope)
            } catch let error as KeyStoreError {
                // The cap on active keys: 409, the workspace's state forbids it until a key is revoked.
                throw HeraldHTTPError(.conflict, error.description)
            }
            var object = created.record.json
            object["key"] = .string(created.secret.plaintext)
            return JSONResponse.make(status: .created, body: .object(object))
        }
        router.delete("keys/{id}") { request, context in
            let identity = try context.identity
            let id = context.parameters.path("id")
            // Another workspace's key is answered exactly like a missing one.
            guard try await store.key(workspace: identity.workspaceId, id: id) != nil else {
                throw HeraldHTTPError(.notFound, "no key \(id) in workspace \(identity.workspaceId); `GET /api/keys` lists them")
            }
            return JSONResponse.make(body: .object(try await store.revokeKey(id: id).json))
        }
        return router
    }
}
