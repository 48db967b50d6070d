import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// Messages and inboxes:
/// - `GET /api/messages`: newest first, filtered by `status`, `channel`, `userId`, paged with `cursor`;
/// - `GET /api/messages/{id}`: one message with its status history;
/// - `GET /api/inbox/{userId}`: a user's inbox messages, newest first, paged with `cursor`, with the unread count;
/// - `POST /api/inbox/{userId}/{messageId}/read`: mark one read.
struct MessagesController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    static var statuses: [String] { MessageStatus.allCases.map(\.rawValue) }
    let store: any ManagementStorage

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("messages") { request, context in try await list(request, admin: context.identity) }
        router.get("messages/{id}") { request, context in
            let identity = try context.identity
            let id = context.parameters.path("id")
            guard let message = try await store.message(workspace: identity.workspaceId, id: id) else {
                throw HeraldHTTPError(.notFound, "no message \"\(id)\" in workspace \(identity.workspaceId)")
            }
            return JSONResponse.make(body: .object(message.json()))
        }
        router.get("inbox/{userId}") { request, context in
            let identity = try context.identity
            let parameters = QueryParameters(request)
            let limit = try parameters.limit()
            let user = context.parameters.path("userId")
            let cursor = parameters.text("cursor")
            if let cursor, try await store.message(workspace: identity.workspaceId, id: cursor) == nil {
                throw HeraldHTTPError.badRequest("`cursor` \"\(cursor)\" is not a message of this workspace; use the `nextCursor` of a previous page")
            }
            let page = try await store.inbox(workspace: identity.workspaceId, user: user, before: cursor, limit: limit + 1)
            let shown = page.prefix(limit)
            return JSONResponse.make(body: [
                "messages": .array(shown.map { .object($0.json()) }),
                "unread": .number(JSONNumber(try await store.unreadCount(workspace: identity.workspaceId, user: user))),
                "nextCursor": page.count > limit ? .string(shown.last!.id) : .null,
            ])
        }
        router.post("inbox/{userId}/{messageId}/read") { request, context in
            let identity = try context.identity
            let user = context.parameters.path("userId")
            let id = context.parameters.path("messageId")
            guard let message = try await store.markRead(workspace: identity.workspaceId, user: user, messageId: id, now: Timestamp(Date())) else {
                throw HeraldHTTPError(.notFound, "user \"\(user)\" has no inbox message \"\(id)\"")
            }
            return JSONResponse.make(body: .object(message.json()))
        }
        return router
    }

    private func list(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let parameters = QueryParameters(request)
        let limit = try parameters.limit()
        var recipient: String?
        if let user = parameters.text("userId") {
            recipient = try await store.profile(workspace: identity.workspaceId, id: user)?.id ?? user
        }
        if let cursor = parameters.text("cursor"), try await store.message(workspace: identity.workspaceId, id: cursor) == nil {
            throw HeraldHTTPError.badRequest("`cursor` \"\(cursor)\" is not a message of this workspace; use the `nextCursor` of a previous page")
        }
        let page = try await store.messages(workspace: identity.workspaceId, matching: MessageQuery(
            status: try parameters.oneOf("status", Self.statuses).flatMap(MessageStatus.init(rawValue:)), channel: parameters.text("channel"), recipient: recipient,
            before: parameters.text("cursor"), limit: limit + 1))
        let shown = page.prefix(limit)
        return JSONResponse.make(body: [
            "messages": .array(shown.map { .object($0.json()) }),
            "nextCursor": page.count > limit ? .string(shown.last!.id) : .null,
        ])
    }
}
