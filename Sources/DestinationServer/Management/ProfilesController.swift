import AutomationEngine
import Hummingbird
import SegmentSpec

/// Profiles and groups of the admin key's workspace:
/// - `GET /api/profiles/{id}`: a profile by any id it is known by (userId, anonymousId, alias),
///   with its first 100 aliases and groups and how many there are;
/// - `GET /api/profiles/{id}/events`, `GET /api/profiles/{id}/messages`: its events and messages, newest first;
/// - `GET /api/groups/{id}`: a group's traits, its first 100 member ids and how many there are;
/// - `GET /api/groups/{id}/members`: the members' profiles.
struct ProfilesController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    let store: any ManagementStorage

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("profiles/{id}") { request, context in
            let (_, profile) = try await profile(request, context, admin: context.identity)
            return JSONResponse.make(body: .object(profile.json))
        }
        router.get("profiles/{id}/events") { request, context in
            let (identity, profile) = try await profile(request, context, admin: context.identity)
            let parameters = QueryParameters(request)
            let limit = try parameters.limit()
            let before = try parameters.integer("cursor")
            // Ids listed in the query when the record holds them all (the user and anonymous id
            // indexes serve it); a profile with more aliases is read through a subquery.
            let page = profile.aliases.count == profile.aliasCount
                ? try await store.events(workspace: identity.workspaceId, profileIds: [profile.id] + profile.aliases, before: before, limit: limit + 1)
                : try await store.events(workspace: identity.workspaceId, profile: profile.id, before: before, limit: limit + 1)
            let shown = page.prefix(limit)
            return JSONResponse.make(body: [
                "events": .array(shown.map { .object($0.summaryJSON) }),
                "nextCursor": page.count > limit ? .string(String(shown.last!.seq)) : .null,
            ])
        }
        router.get("profiles/{id}/messages") { request, context in
            let (identity, profile) = try await profile(request, context, admin: context.identity)
            let parameters = QueryParameters(request)
            let limit = try parameters.limit()
            let page = try await store.messages(
                workspace: identity.workspaceId, matching: MessageQuery(recipient: profile.id, before: parameters.text("cursor"), limit: limit + 1))
            let shown = page.prefix(limit)
            return JSONResponse.make(body: [
                "messages": .array(shown.map { .object($0.json()) }),
                "nextCursor": page.count > limit ? .string(shown.last!.id) : .null,
            ])
        }
        router.get("groups/{id}") { request, context in
            let (_, group) = try await group(request, context, admin: context.identity)
            return JSONResponse.make(body: .object(group.json))
        }
        router.get("groups/{id}/members") { request, context in
            let (identity, group) = try await group(request, context, admin: context.identity)
            // Pages of `limit` member profiles, after the member id in `cursor`.
            let parameters = QueryParameters(request)
            let limit = try parameters.limit()
            let page = try await store.groupMembers(workspace: identity.workspaceId, groupId: group.id, after: parameters.text("cursor"), limit: limit + 1)
            let shown = Array(page.prefix(limit))
            let members = try await store.profiles(workspace: identity.workspaceId, ids: shown)
            return JSONResponse.make(body: [
                "members": .array(members.map { .object($0.json) }),
                "nextCursor": page.count > limit ? .string(shown[limit - 1]) : .null,
            ])
        }
        return router
    }

    private func profile(_ request: Request, _ context: Context, admin identity: KeyIdentity) async throws -> (KeyIdentity, ProfileRecord) {
        let id = context.parameters.path("id")
        guard let profile = try await store.profile(workspace: identity.workspaceId, id: id) else {
            throw HeraldHTTPError(.notFound, "no profile \"\(id)\" in workspace \(identity.workspaceId): profiles are made by identify, track and the other calls once the engine has processed them")
        }
        return (identity, profile)
    }

    private func group(_ request: Request, _ context: Context, admin identity: KeyIdentity) async throws -> (KeyIdentity, GroupRecord) {
        let id = context.parameters.path("id")
        guard let group = try await store.group(workspace: identity.workspaceId, id: id) else {
            throw HeraldHTTPError(.notFound, "no group \"\(id)\" in workspace \(identity.workspaceId): groups are made by group calls")
        }
        return (identity, group)
    }
}
