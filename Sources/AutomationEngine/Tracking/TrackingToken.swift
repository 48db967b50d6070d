import Crypto
public import Foundation

/// The signed token of a tracked link or open pixel: which message, and which of its links
/// (or its open), with an HMAC-SHA256 of both under the database's tracking key. It cannot be
/// guessed or altered into another message's or another link's, and needs no session.
public struct TrackingToken: Sendable, Hashable {
    /// What a token stands for.
    public enum Kind: Sendable, Hashable {
        /// The message's link at this index (in the order of its rendered body).
        case click(link: Int)
        /// The message's open pixel.
        case open
    }

    /// The message.
    public let messageId: String
    /// A click or an open.
    public let kind: Kind

    /// A token for `kind` of message `messageId`.
    public init(messageId: String, kind: Kind) {
        self.messageId = messageId
        self.kind = kind
    }

    private var payload: String {
        switch kind {
        case .click(let link): "c:\(link):\(messageId)"
        case .open: "o:\(messageId)"
        }
    }

    /// The token's text: `<base64url(payload)>.<base64url(first 16 bytes of the MAC)>`.
    public func signed(with key: Data) -> String {
        let payload = Data(self.payload.utf8)
        return Self.base64URL(payload) + "." + Self.base64URL(Self.mac(payload, key: key))
    }

    /// The token `text` stands for, when its signature is right; nil for anything else.
    public init?(verifying text: String, key: Data) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, text.utf8.count <= 512, let payload = Self.data(base64URL: parts[0]), let mac = Self.data(base64URL: parts[1]),
              mac.count == 16,
              // One spelling per token: base64's last character has bits that decoding ignores,
              // and a token whose text changed must not still be accepted.
              Self.base64URL(payload) == parts[0], Self.base64URL(mac) == parts[1]
        else { return nil }
        // Constant time: a forger learns nothing from how long the comparison took.
        let expected = Self.mac(payload, key: key)
        guard expected.count == mac.count, zip(expected, mac).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        let text = String(decoding: payload, as: UTF8.self)
        if text.hasPrefix("o:") {
            self.init(messageId: String(text.dropFirst(2)), kind: .open)
        } else if text.hasPrefix("c:") {
            let fields = text.dropFirst(2).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2, let link = Int(fields[0]), link >= 0 else { return nil }
            self.init(messageId: String(fields[1]), kind: .click(link: link))
        } else {
            return nil
        }
        guard !messageId.isEmpty else { return nil }
    }

    private static func mac(_ payload: Data, key: Data) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: payload, using: SymmetricKey(data: key))).prefix(16)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func data(base64URL text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard base64.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/") }) else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
