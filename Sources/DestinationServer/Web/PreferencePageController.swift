import AutomationEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SegmentSpec

/// The recipient's hosted preference page and the RFC 8058 one-click unsubscribe: no sign-in,
/// the signed token in the link is the only credential (``PreferenceToken``).
///
/// - `GET /p/{token}`: the topics of the workspace's current configuration with the
///   recipient's choices (on every channel), plus "any other email";
/// - `POST /p/{token}`: the page's form (`save`, or `unsubscribe-all`), refused unless it
///   carries the page's CSRF field and comes from the same site;
/// - `POST /p/{token}/one-click?topic=&channel=`: the mail client's one-click unsubscribe
///   (body `List-Unsubscribe=One-Click`); `GET` of it shows the page.
///
/// A token that was not signed by the workspace's key is a 404 that says nothing about who
/// exists. Pages are not cached, framed, or given a Referer (the token is in the URL).
struct PreferencePageController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let renderer: WebPageRenderer
    let now: @Sendable () -> Timestamp

    func add(to router: Router<Context>) {
        router.get("/p/{token}") { request, context in
            let recipient = try await verify(context.parameters.path("token"))
            return try await page(recipient, token: context.parameters.path("token"), saved: request.uri.queryParameters["saved"] != nil)
        }
        router.post("/p/{token}") { request, context in
            let token = context.parameters.path("token")
            let recipient = try await verify(token)
            try Self.checkSameSite(request)
            let form = try await Self.formFields(request)
            let key = try await store.existingPreferenceSigningKey(workspace: recipient.workspace) ?? []
            guard WebSessionGate.constantTimeEqual(form.first { $0.0 == "csrf" }?.1 ?? "", PreferenceToken.formToken(for: token, key: key)) else {
                throw HeraldHTTPError(.forbidden, "this form did not come from your preference page; open the link from your email again")
            }
            let current = try await effectiveStatuses(recipient)
            let shown = Set(form.filter { $0.0 == "shown" }.map(\.1)).intersection(current.map(\.topic))
            let subscribed = Set(form.filter { $0.0 == "subscribe" }.map(\.1))
            let everything = form.contains { $0 == ("action", "unsubscribe-all") }
            // Only what the recipient changed is recorded: a box left as shown is no choice.
            let choices = current.filter { shown.contains($0.topic) }.compactMap { row -> PreferenceChoice? in
                let wanted: PreferenceStatus = !everything && subscribed.contains(row.topic) ? .optIn : .optOut
                return wanted == row.status ? nil : PreferenceChoice(topic: row.topic, status: wanted)
            }
            _ = try await store.setPreferences(workspace: recipient.workspace, profileId: recipient.profileId, choices, source: .page, at: now())
            return WebSessionGate.redirect("/p/\(token)?saved=1")
        }
        router.post("/p/{token}/one-click") { request, context in
            let recipient = try await verify(context.parameters.path("token"))
            let body = try await RequestBodyReader(limit: 4_096).read(request)
            guard String(decoding: body, as: UTF8.self).contains("List-Unsubscribe=One-Click") else {
                throw HeraldHTTPError.badRequest("a one-click unsubscribe sends the body List-Unsubscribe=One-Click (RFC 8058)")
            }
            let topic = request.uri.queryParameters["topic"].map(String.init) ?? PreferenceChoice.all
            let channel = request.uri.queryParameters["channel"].map(String.init) ?? PreferenceChoice.all
            let configuration = try await configuration(of: recipient.workspace)
            guard topic == PreferenceChoice.all || configuration?.topic(named: topic) != nil else {
                throw HeraldHTTPError.badRequest("no topic `\(topic)` in this workspace")
            }
            guard channel == PreferenceChoice.all || configuration?.channels.contains(where: { $0.name == channel }) == true else {
                throw HeraldHTTPError.badRequest("no channel `\(channel)` in this workspace")
            }
            _ = try await store.setPreferences(
                workspace: recipient.workspace, profileId: recipient.profileId, [PreferenceChoice(topic: topic, channel: channel, status: .optOut)],
                source: .oneClick, at: now())
            return Self.html("<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>Unsubscribed</title><p>You are unsubscribed.</p>")
        }
        router.get("/p/{token}/one-click") { _, context in
            let token = context.parameters.path("token")
            _ = try await verify(token)
            return WebSessionGate.redirect("/p/\(token)")
        }
    }

    /// The recipient a token names, if the workspace's key signed it.
    private func verify(_ token: String) async throws -> PreferenceToken {
        guard let workspace = PreferenceToken.claimedWorkspace(of: token),
            let key = try await store.existingPreferenceSigningKey(workspace: workspace),
            let recipient = PreferenceToken.verify(token, key: key)
        else { throw HeraldHTTPError(.notFound, "this preference link is not valid; use the link from your most recent email") }
        return recipient
    }

    /// The workspace's configuration in force (parsed once per version).
    private func configuration(of workspace: String) async throws -> HeraldConfiguration? {
        guard let current = try await store.currentConfiguration(workspace: workspace) else { return nil }
        return try await store.configuration(workspace: workspace, version: current.version)
    }

    private func topics(of workspace: String) async throws -> [HeraldConfiguration.Topic] {
        try await configuration(of: workspace)?.topics ?? []
    }

    /// The page's rows: each topic, then "any other email" (`*`), with the status the
    /// recipient has on every channel (their choice for it, else their choice for everything,
    /// else the topic's default).
    private func effectiveStatuses(_ recipient: PreferenceToken) async throws -> [(topic: String, label: String, status: PreferenceStatus)] {
        let topics = try await topics(of: recipient.workspace)
        let choices = try await store.preferences(workspace: recipient.workspace, profileId: recipient.profileId)
        let all = PreferenceChoice.all
        func status(_ topic: String, default fallback: PreferenceStatus) -> PreferenceStatus {
            choices.first { $0.choice.topic == topic && $0.choice.channel == all }?.choice.status
                ?? (topic == all ? nil : choices.first { $0.choice.topic == all && $0.choice.channel == all }?.choice.status)
                ?? fallback
        }
        return topics.map { (topic: $0.name, label: $0.label, status: status($0.name, default: $0.defaultStatus)) }
            + [(topic: all, label: topics.isEmpty ? "Email from us" : "Any other email from us", status: status(all, default: .optIn))]
    }

    private func page(_ recipient: PreferenceToken, token: String, saved: Bool) async throws -> Response {
        let traits = try await store.profile(workspace: recipient.workspace, id: recipient.profileId)?.traits
        let key = try await store.existingPreferenceSigningKey(workspace: recipient.workspace) ?? []
        let rows: [[String: Any]] = try await effectiveStatuses(recipient).map { ["name": $0.topic, "label": $0.label, "subscribed": $0.status == .optIn] }
        let context: [String: Any] = [
            "token": token, "csrf": PreferenceToken.formToken(for: token, key: key), "topics": rows, "saved": saved,
            "unsubscribedTrait": traits?[PreferenceCheck.unsubscribedTrait] == .bool(true),
        ]
        return Self.html(renderer.fragment("preferences", context: context))
    }

    /// A form posted from another site (a page that learned the link) is refused; browsers
    /// say where a form came from in `Sec-Fetch-Site` and `Origin`.
    private static func checkSameSite(_ request: Request) throws {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" || site == "same-site" {
            throw HeraldHTTPError(.forbidden, "this form was sent from another site")
        }
        if let origin = request.headers[HTTPField.Name("Origin")!], origin != "null",
            let host = URL(string: origin)?.host, let authority = request.head.authority,
            host.lowercased() != (authority.split(separator: ":").first.map(String.init) ?? authority).lowercased()
        {
            throw HeraldHTTPError(.forbidden, "this form was sent from another site")
        }
    }

    /// The form's fields in order, repeated names kept (`subscribe`, `shown`).
    private static func formFields(_ request: Request) async throws -> [(String, String)] {
        let bytes = try await RequestBodyReader(limit: 64 * 1024).read(request)
        return String(decoding: bytes, as: UTF8.self).split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    private static func html(_ text: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                HTTPField.Name("Content-Security-Policy")!: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                HTTPField.Name("Referrer-Policy")!: "no-referrer",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
