import Crypto
import Foundation

/// The token of a recipient's preference link (`/p/<token>`): who it is for, signed with
/// the workspace's preference key (HMAC-SHA256, 128 bits kept), so it cannot be guessed or
/// altered to reach someone else's preferences, and needs no sign-in.
///
/// Form: `<base64url(workspace LF profileId)>.<base64url(mac)>`. The same recipient always
/// gets the same token (it is in every email they were sent); rotating the workspace's key
/// revokes them all.
public struct PreferenceToken: Sendable, Hashable {
    /// The workspace.
    public let workspace: String
    /// The recipient's profile id.
    public let profileId: String

    /// The recipient `profileId` of `workspace` (what a verified token names).
    public init(workspace: String, profileId: String) {
        self.workspace = workspace
        self.profileId = profileId
    }

    /// A token for `profileId` of `workspace`, signed with `key`.
    public static func make(workspace: String, profileId: String, key: [UInt8]) -> String {
        let payload = Array("\(workspace)\n\(profileId)".utf8)
        return base64URL(payload) + "." + base64URL(mac(payload, key: key))
    }

    /// The workspace a token claims to be for (unverified: which key to check it with).
    public static func claimedWorkspace(of token: String) -> String? {
        guard let payload = payload(of: token), let text = String(bytes: payload, encoding: .utf8), let newline = text.firstIndex(of: "\n") else { return nil }
        return String(text[..<newline])
    }

    /// The recipient of `token` if `key` signed it; nil for anything forged, altered or malformed.
    public static func verify(_ token: String, key: [UInt8]) -> PreferenceToken? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = payload(of: token), let signature = decodeBase64URL(String(parts[1])),
            signature.count == 16, let text = String(bytes: payload, encoding: .utf8), let newline = text.firstIndex(of: "\n")
        else { return nil }
        // Compared in constant time: how far a forged signature matches must not show in the timing.
        let expected = mac(payload, key: key)
        guard zip(expected, signature).reduce(UInt8(0), { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        let verified = PreferenceToken(workspace: String(text[..<newline]), profileId: String(text[text.index(after: newline)...]))
        // One spelling only: base64's last character carries unused bits, so another spelling
        // can decode to the same bytes; only the token Herald made is accepted.
        guard make(workspace: verified.workspace, profileId: verified.profileId, key: key) == token else { return nil }
        return verified
    }

    /// The CSRF field of the preference page's form for `token`: derived from the token with
    /// the workspace's key, so a form posted from anywhere but the page itself is refused.
    public static func formToken(for token: String, key: [UInt8]) -> String {
        base64URL(mac(Array("form\n\(token)".utf8), key: key))
    }

    /// A new random key (32 bytes) for a workspace.
    public static func newKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    private static func mac(_ payload: [UInt8], key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key))).prefix(16).map { $0 }
    }

    private static func payload(of token: String) -> [UInt8]? {
        guard let dot = token.firstIndex(of: "."), token.utf8.count <= 2_048 else { return nil }
        return decodeBase64URL(String(token[..<dot]))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map(Array.init)
    }
}
