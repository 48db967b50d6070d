public import SegmentSpec

/// The HTTP request a `webhook` channel sends for one message: what a mailer author codes
/// against, shown by `herald test` and the dry run exactly as ``WebhookChannel`` sends it.
public struct WebhookRequest: Sendable, Hashable {
    /// One header line.
    public struct Header: Sendable, Hashable {
        /// The header's name.
        public let name: String
        /// Its value (for the signature, its shape: it changes with the time of each attempt).
        public let value: String
    }

    /// The message it carries.
    public let messageId: String
    /// Always `POST`.
    public let method = "POST"
    /// The channel's URL.
    public let url: String
    /// The headers, in the order they are sent.
    public let headers: [Header]
    /// The JSON body (see ``WebhookChannel/payload(of:)``).
    public let body: JSONValue

    /// The name of the signature header.
    public static let signatureHeader = "Herald-Signature"
    /// What the signature header holds, in words (its value differs on every attempt).
    public static let signatureShape = "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>"

    /// The request for `message` on a channel posting to `url`, signed when `signed`.
    public init(message: OutgoingMessage, url: String, signed: Bool) {
        messageId = message.id
        self.url = url
        var headers = [Header(name: "Content-Type", value: "application/json"), Header(name: "Idempotency-Key", value: message.id)]
        if signed { headers.append(Header(name: Self.signatureHeader, value: Self.signatureShape)) }
        self.headers = headers
        body = WebhookChannel.payload(of: message)
    }
}
