import AutomationEngine
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Sign-in state of the web page: an `HttpOnly`, `Secure`, `SameSite=Strict` cookie naming a
/// session stored (hashed) in the database, and the session's CSRF token that every form
/// which changes something must carry.
struct WebSessionGate: Sendable {
    static let cookieName = "herald_session"
    /// The sign-in form's double-submit token.
    static let signInCookieName = "herald_sign_in"
    /// Sessions last a week; signing out ends one at once, and so does revoking its key.
    static let lifetime: Duration = .seconds(7 * 86_400)
    let store: any ManagementStorage

    /// The signed-in session, or nil.
    func session(_ request: Request) async throws -> WebSession? {
        guard let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty else { return nil }
        return try await store.webSession(cookie: cookie)
    }

    /// The cookie that keeps a browser signed in.
    static func cookie(value: String, for request: Request) -> Cookie {
        Cookie(name: cookieName, value: value, maxAge: Int(lifetime.components.seconds), path: "/",
               secure: isSecureContext(request), httpOnly: true, sameSite: .strict)
    }

    /// A cookie that removes the session cookie.
    static func expiredCookie(for request: Request) -> Cookie {
        Cookie(name: cookieName, value: "", maxAge: 0, path: "/", secure: isSecureContext(request), httpOnly: true, sameSite: .strict)
    }

    /// Whether browsers treat the page as a secure context, where `Secure` cookies work: HTTPS
    /// (directly or behind a proxy that says so) or loopback. Over plain HTTP to another host a
    /// `Secure` cookie would be dropped and nobody could sign in; the page warns there instead.
    static func isSecureContext(_ request: Request) -> Bool {
        if request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https" || request.head.scheme == "https" { return true }
        let host = (request.head.authority ?? "").lowercased()
        return host == "localhost" || host.hasPrefix("localhost:") || host.hasPrefix("127.") || host.hasPrefix("[::1]")
    }

    /// `https` when the page was reached over HTTPS (directly or through a proxy), else `http`.
    static func scheme(_ request: Request) -> String {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https" || request.head.scheme == "https" ? "https" : "http"
    }

    /// Reads an `application/x-www-form-urlencoded` body into its fields.
    static func form(_ request: Request) async throws -> [String: String] {
        let bytes = try await RequestBodyReader(limit: 1 << 20).read(request)
        var fields: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// Whether a submitted form carries the session's CSRF token (compared in constant time).
    static func checkCSRF(_ fields: [String: String], session: WebSession) throws {
        guard constantTimeEqual(fields["csrf"] ?? "", session.csrfToken) else {
            throw HeraldHTTPError(.forbidden, "this form is stale or did not come from Herald's page (CSRF check failed); reload the page and try again")
        }
    }

    static func constantTimeEqual(_ sent: String, _ expected: String) -> Bool {
        let sent = Array(sent.utf8)
        let expected = Array(expected.utf8)
        var difference = UInt8(sent.count == expected.count ? 0 : 1)
        for (a, b) in zip(sent, expected) { difference |= a ^ b }
        return difference == 0
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }
}

extension WebSession {
    var page: WebPageSession { WebPageSession(workspace: identity.workspaceId, csrfToken: csrfToken) }
}
