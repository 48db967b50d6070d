import AutomationEngine
import Hummingbird
import SegmentSpec

/// API keys of the admin key's workspace:
/// - `GET /api/keys`: every key's id (its visible prefix), scope and dates, never the key;
/// - `POST /api/keys` with `{"scope": "ingest"|"admin"}`: 201 with the new key, shown this once;
/// - `DELETE /api/keys/{id}`: revoke; requests with the key get 401 from then on.
struct KeysController<Context: RequestContext>: Sendable {
    let store: HeraldStore
    let authenticator: AdminAuthenticator
    let bodyReader: RequestBodyReader

    func add(to router: Router<Context>) {
        router.get("/api/keys") { request, _ in
            let identity = try await authenticator.requireAdmin(request)
            let keys = try await store.listKeys(workspace: identity.workspaceId)
            return JSONResponse.make(body: ["keys": .array(keys.map { .object($0.json) })])
        }
        router.post("/api/keys") { request, _ in
            let identity = try await authenticator.requireAdmin(request)
            let body = try await RequestJSON.object(from: request, reader: bodyReader)
            guard let scope = body["scope"]?.stringValue.flatMap(KeyScope.init(rawValue:)) else {
                throw HeraldHTTPError.badRequest("send `{\"scope\": \"ingest\"}` (for Segment) or `{\"scope\": \"admin\"}` (for this API)")
            }
            let created = try await store.createKey(workspace: identity.workspaceId, scope: scope)
            var object = created.record.json
            object["key"] = .string(created.secret.plaintext)
            return JSONResponse.make(status: .created, body: .object(object))
        }
        router.delete("/api/keys/{id}") { request, context in
            let identity = try await authenticator.requireAdmin(request)
            let id = context.parameters.path("id")
            // Another workspace's key is answered exactly like a missing one.
            guard try await store.listKeys(workspace: identity.workspaceId).contains(where: { $0.id == id }) else {
                throw HeraldHTTPError(.notFound, "no key \(id) in workspace \(identity.workspaceId); `GET /api/keys` lists them")
            }
            return JSONResponse.make(body: .object(try await store.revokeKey(id: id).json))
        }
    }
}
