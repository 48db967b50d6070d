import AutomationEngine
import Hummingbird

/// The context of a management API request (`/api/...`): its parent's, plus the admin key it
/// was authenticated with. ``AdminAuthenticationMiddleware`` sets the key before any handler
/// of the `/api` group runs, so handlers read ``identity`` instead of authenticating again.
struct AdminRequestContext<Parent: RequestContext>: ChildRequestContext {
    typealias ParentContext = Parent
    var coreContext: CoreRequestContextStorage
    /// Set by the middleware; nil only on a route mounted without it.
    var authenticatedKey: KeyIdentity?

    init(context: Parent) throws {
        // The parent's storage as it is: the router has already put the path's parameters
        // (`{id}`) and the endpoint in it.
        coreContext = context.coreContext
    }

    /// The admin key of the request, and with it the workspace it may see.
    var identity: KeyIdentity {
        get throws {
            guard let authenticatedKey else {
                throw HeraldHTTPError.unauthorized("missing API key: send `Authorization: Bearer <admin key>` or Basic with the key as username")
            }
            return authenticatedKey
        }
    }
}

/// Authenticates every request of the `/api` group with an admin key (``AdminAuthenticator``)
/// and hands the key to the handlers in their ``AdminRequestContext``.
struct AdminAuthenticationMiddleware<Parent: RequestContext>: RouterMiddleware {
    typealias Context = AdminRequestContext<Parent>
    let authenticator: AdminAuthenticator

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.authenticatedKey = try await authenticator.requireAdmin(request)
        return try await next(request, context)
    }
}
