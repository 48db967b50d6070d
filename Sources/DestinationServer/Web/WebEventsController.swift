import AutomationEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SegmentSpec

/// The web page's sign-in and its event views: `/` (the live list, or set-up instructions
/// when nothing arrived yet), `/events/{seq}` (one event: raw JSON, how Herald read it,
/// warnings, explain trace), `/unmapped`, and `/events/rows` (new rows for the live list).
struct WebEventsController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let renderer: WebPageRenderer
    let gate: WebSessionGate
    let failures: AuthenticationFailureLog

    func add(to router: Router<Context>) {
        router.get("/static/{file}") { _, context in
            guard let asset = renderer.assets[context.parameters.path("file")] else { throw HeraldHTTPError(.notFound, "no such file") }
            var headers = WebPageRenderer.securityHeaders(contentType: asset.contentType)
            headers[.cacheControl] = "max-age=300"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.bytes))
        }
        router.get("/sign-in") { request, _ in
            if try await gate.session(request) != nil { return WebSessionGate.redirect("/") }
            return signInPage(request, error: nil, status: .ok)
        }
        router.post("/sign-in") { request, _ in try await signIn(request) }
        router.post("/sign-out") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            try WebSessionGate.checkCSRF(try await WebSessionGate.form(request), session: session)
            if let cookie = request.cookies[WebSessionGate.cookieName]?.value { try await store.endWebSession(cookie: cookie) }
            var response = WebSessionGate.redirect("/sign-in")
            response.setCookie(WebSessionGate.expiredCookie(for: request))
            return response
        }
        router.get("/") { request, _ in try await events(request) }
        router.get("/events/rows") { request, _ in try await rows(request) }
        router.get("/events/{seq}") { request, context in try await event(request, seq: context.parameters.path("seq")) }
        router.get("/unmapped") { request, _ in try await unmapped(request) }
    }

    /// The sign-in form, with a fresh double-submit token (a cookie and a hidden field that
    /// must match), so another site cannot sign a browser in to its own workspace.
    private func signInPage(_ request: Request, error: String?, status: HTTPResponse.Status) -> Response {
        let token = HeraldStore.randomToken()
        let secure = WebSessionGate.isSecureContext(request)
        var context: [String: Any] = ["csrf": token]
        if let error { context["error"] = error }
        if !secure { context["insecure"] = true }
        var response = renderer.page("sign-in", title: "Sign in", context: context, session: nil, status: status)
        response.setCookie(Cookie(name: WebSessionGate.signInCookieName, value: token, maxAge: 3600, path: "/sign-in", secure: secure, httpOnly: true, sameSite: .strict))
        return response
    }

    private func signIn(_ request: Request) async throws -> Response {
        let fields = try await WebSessionGate.form(request)
        guard let expected = request.cookies[WebSessionGate.signInCookieName]?.value, !expected.isEmpty,
            WebSessionGate.constantTimeEqual(fields["csrf"] ?? "", expected)
        else {
            return signInPage(request, error: "This sign-in form expired or did not come from Herald's page; try again.", status: .forbidden)
        }
        let key = (fields["key"] ?? "").trimmingCharacters(in: .whitespaces)
        func refuse(_ message: String) -> Response {
            signInPage(request, error: message, status: .unauthorized)
        }
        guard !key.isEmpty else { return refuse("Enter an admin key.") }
        guard let identity = try await store.identity(for: APIKeySecret(plaintext: key)) else { return refuse("That key is unknown or revoked.") }
        guard identity.scope == .admin else { return refuse("That is an ingest key (for Segment); the page needs an admin key.") }
        let started = try await store.startWebSession(for: identity, lifetime: WebSessionGate.lifetime)
        var response = WebSessionGate.redirect("/")
        response.setCookie(WebSessionGate.cookie(value: started.cookie, for: request))
        return response
    }

    private func events(_ request: Request) async throws -> Response {
        guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
        // The newest page follows arriving events live; `?cursor=<seq>` shows older ones.
        let before = try? QueryParameters(request).integer("cursor")
        let page = try await store.events(workspace: session.identity.workspaceId, matching: EventQuery(before: before, limit: WebPageRenderer.pageSize + 1))
        let events = Array(page.prefix(WebPageRenderer.pageSize))
        let traces = try await store.traces(seqs: events.map(\.seq))
        let host = request.head.authority ?? "127.0.0.1:8080"
        var context: [String: Any] = [
            "empty": events.isEmpty && before == nil, "events": events.map { Self.row($0, explain: traces[$0.seq]) },
            "latestSeq": events.first.map { String($0.seq) } ?? "0", "live": before == nil,
            "endpoint": "\(WebSessionGate.scheme(request))://\(host)/inbound/segment", "workspace": session.identity.workspaceId,
        ]
        if page.count > WebPageRenderer.pageSize, let last = events.last { context["nextHref"] = "/?cursor=\(last.seq)" }
        if events.isEmpty && before == nil {
            // "Check the API key": what Segment (or anyone) sent that was refused.
            let refused = failures.recent(workspace: session.identity.workspaceId).prefix(10)
            if !refused.isEmpty {
                context["hasFailures"] = true
                context["failures"] = refused.map { entry -> [String: Any] in
                    ["credential": entry.credential, "reason": entry.reason, "count": entry.count, "path": entry.path,
                     "lastAt": Timestamp(entry.lastAt).iso8601]
                }
            }
        }
        return renderer.page("events", title: "Events", context: context, session: session.page, nav: "events")
    }

    /// Rows of events newer than `after`, newest first; `X-Herald-Latest-Seq` says where to continue.
    private func rows(_ request: Request) async throws -> Response {
        guard let session = try await gate.session(request) else {
            // No WWW-Authenticate: the page's script handles this, a browser login prompt must not appear.
            throw HeraldHTTPError(.unauthorized, "the session ended; sign in again")
        }
        let after = try QueryParameters(request).integer("after") ?? 0
        let events = try await store.events(workspace: session.identity.workspaceId, matching: EventQuery(after: after, limit: 200))
        let traces = try await store.traces(seqs: events.map(\.seq))
        let html = renderer.fragment("event-rows", context: ["events": events.reversed().map { Self.row($0, explain: traces[$0.seq]) }])
        var headers = WebPageRenderer.securityHeaders(contentType: "text/html; charset=utf-8")
        headers[HTTPField.Name("X-Herald-Latest-Seq")!] = String(events.last?.seq ?? after)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func event(_ request: Request, seq text: String) async throws -> Response {
        guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
        guard let seq = Int64(text), let event = try await store.event(workspace: session.identity.workspaceId, seq: seq) else {
            return renderer.page("not-found", title: "Not found", context: ["message": "There is no event \(text) in this workspace."], session: session.page, status: .notFound)
        }
        let detail = event.detailJSON(explain: try await store.trace(seq: seq))
        var context: [String: Any] = [
            "name": event.name, "type": event.type, "messageId": event.messageId, "userId": event.userId ?? "—",
            "anonymousId": event.anonymousId ?? "—", "timestamp": event.timestamp.iso8601, "receivedAt": event.receivedAt.iso8601,
            "warnings": event.warnings, "hasWarnings": !event.warnings.isEmpty,
            "data": (detail["data"] ?? .null).prettyText, "raw": (detail["raw"] ?? .null).prettyText,
        ]
        if let explain = detail["explain"], explain != .null {
            let mappings: [[String: Any]] = (explain["mappings"]?.arrayValue ?? []).map { check in
                var entry: [String: Any] = [
                    "on": check["on"]?.stringValue ?? "", "line": check["line"]?.encodedString() ?? "",
                    "result": check["result"]?.stringValue ?? "",
                    "seen": (check["saw"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "),
                ]
                if let when = check["when"]?.stringValue {
                    entry["when"] = when
                    entry["value"] = check["value"]?.encodedString() ?? ""
                }
                return entry
            }
            let effects = (explain["effects"]?.arrayValue ?? []).compactMap(\.stringValue)
            var explainContext: [String: Any] = ["mappings": mappings, "hasMappings": !mappings.isEmpty, "effects": effects, "hasEffects": !effects.isEmpty]
            if let summary = explain["summary"]?.stringValue { explainContext["summary"] = summary }
            context["explain"] = explainContext
        }
        return renderer.page("event", title: event.name, context: context, session: session.page, nav: "events")
    }

    private func unmapped(_ request: Request) async throws -> Response {
        guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
        let workspace = session.identity.workspaceId
        let after = QueryParameters(request).text("cursor").flatMap(EventNamePosition.init(cursor:))
        let page = try await store.unmappedEventNames(workspace: workspace, after: after, limit: WebPageRenderer.pageSize + 1)
        let names = page.prefix(WebPageRenderer.pageSize).map { entry -> [String: Any] in
            ["name": entry.name, "count": String(entry.count), "lastSeenAt": entry.lastSeenAt.iso8601,
             "encodedName": entry.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? entry.name]
        }
        var context: [String: Any] = ["names": names, "hasNames": !names.isEmpty]
        // The cursor is base64url and digits: safe in a URL as it is.
        if page.count > WebPageRenderer.pageSize { context["nextHref"] = "/unmapped?cursor=\(page[WebPageRenderer.pageSize - 1].position.cursor)" }
        return renderer.page("unmapped", title: "Unmapped events", context: context, session: session.page, nav: "unmapped")
    }

    /// One row of the live list: when, what, who, and what the engine did.
    static func row(_ event: StoredEvent, explain: JSONValue?) -> [String: Any] {
        var row: [String: Any] = [
            "seq": String(event.seq), "receivedAt": event.receivedAt.iso8601, "name": event.name,
            "user": event.userId ?? event.anonymousId ?? "—",
        ]
        if !event.warnings.isEmpty { row["warningCount"] = String(event.warnings.count) }
        if let explain {
            let results = (explain["mappings"]?.arrayValue ?? []).compactMap { $0["result"]?.stringValue }
            row["outcome"] = explain["summary"]?.stringValue ?? results.joined(separator: "; ")
        } else {
            row["outcome"] = "waiting for the engine…"
        }
        return row
    }
}
