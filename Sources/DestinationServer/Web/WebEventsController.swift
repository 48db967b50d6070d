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
        // The newest page follows arriving events live; `?cursor=<seq>` shows older ones, and
        // a filtered list is a still picture.
        let parameters = QueryParameters(request)
        let before = try? parameters.integer("cursor")
        let filters = WebEventFilters(request)
        let now = Timestamp(Date())
        let page = try await store.events(
            workspace: session.identity.workspaceId, matching: filters.eventQuery(before: before, limit: WebPageRenderer.pageSize + 1, now: now))
        let events = Array(page.prefix(WebPageRenderer.pageSize))
        let traces = try await store.traces(seqs: events.map(\.seq))
        let host = request.head.authority ?? "127.0.0.1:8080"
        let nothingYet = events.isEmpty && before == nil && filters.isEmpty
        var context: [String: Any] = [
            "empty": nothingYet, "events": events.map { Self.row($0, explain: traces[$0.seq], now: now) },
            "latestSeq": events.first.map { String($0.seq) } ?? "0", "live": before == nil && filters.isEmpty,
            "noMatch": events.isEmpty && !nothingYet, "filters": filters.context,
            "endpoint": "\(WebSessionGate.scheme(request))://\(host)/inbound/segment", "workspace": session.identity.workspaceId,
        ]
        if page.count > WebPageRenderer.pageSize, let last = events.last {
            context["nextHref"] = "/?cursor=\(last.seq)" + (filters.isEmpty ? "" : "&" + filters.query)
        }
        if nothingYet {
            // "Check the API key": what Segment (or anyone) sent that was refused.
            let refused = failures.recent(workspace: session.identity.workspaceId).prefix(10)
            if !refused.isEmpty {
                context["hasFailures"] = true
                context["failures"] = refused.map { entry -> [String: Any] in
                    ["credential": entry.credential, "reason": entry.reason, "count": entry.count, "path": entry.path,
                     "lastAt": WebText.time(Timestamp(entry.lastAt), now: now)]
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
        let now = Timestamp(Date())
        let html = renderer.fragment("event-rows", context: ["events": events.reversed().map { Self.row($0, explain: traces[$0.seq], now: now) }])
        var headers = WebPageRenderer.securityHeaders(contentType: "text/html; charset=utf-8")
        headers[HTTPField.Name("X-Herald-Latest-Seq")!] = String(events.last?.seq ?? after)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func event(_ request: Request, seq text: String) async throws -> Response {
        guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
        let workspace = session.identity.workspaceId
        guard let seq = Int64(text), let event = try await store.event(workspace: workspace, seq: seq) else {
            return renderer.page("not-found", title: "Not found", context: ["message": "There is no event \(text) in this workspace."], session: session.page, status: .notFound)
        }
        let now = Timestamp(Date())
        let detail = event.detailJSON(explain: try await store.trace(seq: seq))
        let profileId = event.userId ?? event.anonymousId
        var context: [String: Any] = [
            "seq": String(seq), "name": event.name, "type": event.type, "messageId": event.messageId,
            "timestamp": WebText.time(event.timestamp, now: now), "receivedAt": WebText.time(event.receivedAt, now: now),
            "warnings": event.warnings, "hasWarnings": !event.warnings.isEmpty,
            "data": (detail["data"] ?? .null).prettyText, "raw": (detail["raw"] ?? .null).prettyText,
        ]
        if let userId = event.userId { context["userId"] = ["id": userId, "href": "/profiles/\(WebText.path(userId))"] }
        if let anonymousId = event.anonymousId { context["anonymousId"] = ["id": anonymousId, "href": "/profiles/\(WebText.path(anonymousId))"] }
        if let profileId { context["profileHref"] = "/profiles/\(WebText.path(profileId))" }
        // What it caused: its runs and their messages, each a link.
        let runs = try await store.runs(workspace: workspace, matching: RunQuery(eventSeq: seq, limit: 100))
        var messages: [[String: Any]] = []
        for run in runs {
            messages += try await store.messages(workspace: workspace, runId: run.id).map { WebRunsController<Context>.context($0, now: now) }
        }
        context["runs"] = runs.map { WebRunsController<Context>.context($0, now: now) }
        context["hasRuns"] = !runs.isEmpty
        context["messages"] = messages
        context["hasMessages"] = !messages.isEmpty
        if let explain = detail["explain"], explain != .null {
            let mappings: [[String: Any]] = (explain["mappings"]?.arrayValue ?? []).map { check in
                var entry: [String: Any] = [
                    "on": check["on"]?.stringValue ?? "", "line": check["line"]?.encodedString() ?? "",
                    "result": WebText.html(check["result"]?.stringValue ?? ""),
                    "seen": (check["saw"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "),
                ]
                if let when = check["when"]?.stringValue {
                    entry["when"] = when
                    entry["value"] = check["value"]?.encodedString() ?? ""
                }
                return entry
            }
            let effects = (explain["effects"]?.arrayValue ?? []).compactMap(\.stringValue).map(WebText.html)
            var explainContext: [String: Any] = [
                "mappings": mappings, "hasMappings": !mappings.isEmpty, "effects": effects, "hasEffects": !effects.isEmpty,
                "hasConditions": mappings.contains { $0["when"] != nil }, "hasSeen": mappings.contains { ($0["seen"] as? String)?.isEmpty == false },
            ]
            if let summary = explain["summary"]?.stringValue { explainContext["summary"] = WebText.html(summary) }
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
            ["name": entry.name, "count": String(entry.count), "lastSeenAt": WebText.time(entry.lastSeenAt, now: Timestamp(Date())),
             "encodedName": entry.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? entry.name]
        }
        var context: [String: Any] = ["names": names, "hasNames": !names.isEmpty]
        // The cursor is base64url and digits: safe in a URL as it is.
        if page.count > WebPageRenderer.pageSize { context["nextHref"] = "/unmapped?cursor=\(page[WebPageRenderer.pageSize - 1].position.cursor)" }
        return renderer.page("unmapped", title: "Unmapped events", context: context, session: session.page, nav: "unmapped")
    }

    /// One row of the live list: when, what, who (a link to the profile), and what the engine did.
    static func row(_ event: StoredEvent, explain: JSONValue?, now: Timestamp) -> [String: Any] {
        var row: [String: Any] = ["seq": String(event.seq), "receivedAt": WebText.time(event.receivedAt, now: now), "name": event.name]
        if let user = event.userId ?? event.anonymousId {
            row["user"] = ["id": user, "href": "/profiles/\(WebText.path(user))"]
        }
        if !event.warnings.isEmpty {
            row["warningCount"] = event.warnings.count == 1 ? "1 warning" : "\(event.warnings.count) warnings"
        }
        if let explain {
            let results = (explain["mappings"]?.arrayValue ?? []).compactMap { $0["result"]?.stringValue }
            row["outcome"] = WebText.html(explain["summary"]?.stringValue ?? results.joined(separator: "; "))
        } else {
            row["outcome"] = "waiting for the engine…"
        }
        return row
    }
}

/// The filters of the events list: type, name, user (the `userId` the events carry) and how far back.
struct WebEventFilters {
    var type: String?
    var name: String?
    var user: String?
    var period: String?

    static let periods: [(key: String, label: String, seconds: Int64)] = [
        ("15m", "last 15 minutes", 900), ("1h", "last hour", 3600), ("24h", "last 24 hours", 86_400), ("7d", "last 7 days", 604_800),
    ]

    init(_ request: Request) {
        let fields = WebText.formFields(request.uri.query)
        func value(_ name: String) -> String? {
            fields[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        type = value("type").flatMap { EventType(rawValue: $0) != nil ? $0 : nil }
        name = value("name")
        user = value("user")
        period = value("since").flatMap { key in Self.periods.contains { $0.key == key } ? key : nil }
    }

    var isEmpty: Bool { type == nil && name == nil && user == nil && period == nil }

    /// The filters as a query string (for the next page's link).
    var query: String {
        [("type", type), ("name", name), ("user", user), ("since", period)].compactMap { key, value in
            value.map { "\(key)=\(WebText.query($0))" }
        }.joined(separator: "&")
    }

    func eventQuery(before: Int64?, limit: Int, now: Timestamp) -> EventQuery {
        let seconds = Self.periods.first { $0.key == period }?.seconds
        return EventQuery(
            type: type, name: name, userId: user,
            since: seconds.map { Timestamp(millisecondsSince1970: now.millisecondsSince1970 - $0 * 1000) }, before: before, limit: limit)
    }

    /// The form's fields with what is selected.
    var context: [String: Any] {
        [
            "name": name ?? "", "user": user ?? "", "active": !isEmpty,
            "types": EventType.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == type] },
            "periods": Self.periods.map { ["value": $0.key, "label": $0.label, "selected": $0.key == period] },
        ]
    }
}
