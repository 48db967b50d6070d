import Crypto
public import Foundation
import GRDB
public import SegmentSpec

/// A signed-in browser session of the web page.
public struct WebSession: Sendable, Hashable {
    /// Who signed in: the admin key's identity.
    public let identity: KeyIdentity
    /// The token every state-changing form must carry (CSRF protection).
    public let csrfToken: String
}

extension HeraldStore {
    /// Starts a session for an admin key; returns the cookie value (shown to the browser
    /// only) and the session. Only the value's SHA-256 is stored.
    public func startWebSession(for identity: KeyIdentity, lifetime: Duration, now: Timestamp = Timestamp(Date())) async throws -> (cookie: String, session: WebSession) {
        let cookie = Self.randomToken()
        let csrf = Self.randomToken()
        let hash = Data(SHA256.hash(data: Data(cookie.utf8)))
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM webSession WHERE expiresAt < ?", arguments: [now.millisecondsSince1970])
            try db.execute(
                sql: "INSERT INTO webSession (tokenHash, keyId, csrf, createdAt, expiresAt) VALUES (?, ?, ?, ?, ?)",
                arguments: [hash, identity.keyId, csrf, now.millisecondsSince1970, now.millisecondsSince1970 + lifetime.wholeMilliseconds])
        }
        return (cookie, WebSession(identity: identity, csrfToken: csrf))
    }

    /// The session of a cookie value, or nil when unknown, expired, or its key was revoked.
    public func webSession(cookie: String, now: Timestamp = Timestamp(Date())) async throws -> WebSession? {
        let hash = Data(SHA256.hash(data: Data(cookie.utf8)))
        return try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT s.csrf, k.id, k.workspaceId, k.scope FROM webSession s JOIN apiKey k ON k.id = s.keyId
                WHERE s.tokenHash = ? AND s.expiresAt > ? AND k.revokedAt IS NULL
                """, arguments: [hash, now.millisecondsSince1970]),
                let scope = KeyScope(rawValue: row["scope"])
            else { return nil }
            return WebSession(identity: KeyIdentity(keyId: row["id"], workspaceId: row["workspaceId"], scope: scope), csrfToken: row["csrf"])
        }
    }

    /// Ends the session of a cookie value.
    public func endWebSession(cookie: String) async throws {
        let hash = Data(SHA256.hash(data: Data(cookie.utf8)))
        try await writer.write { db in try db.execute(sql: "DELETE FROM webSession WHERE tokenHash = ?", arguments: [hash]) }
    }

    /// 32 random bytes as URL-safe base64: session cookies and CSRF tokens.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
