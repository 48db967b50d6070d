public import SegmentSpec

/// A way out for messages: one file per kind (webhook, smtp; Segment later).
///
/// The delivery service calls ``deliver(_:)`` once per attempt, outside any transaction,
/// several at once; the channel says what happened and whether a failure is final. A
/// channel must treat ``OutgoingMessage/id`` as an idempotency key: a crash between an
/// attempt and its record means the same message is attempted again with the same id.
public protocol DeliveryChannel: Sendable {
    /// Attempts one delivery. Never throws: every failure is an outcome.
    func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome
}

/// One message as a channel sees it.
public struct OutgoingMessage: Sendable, Hashable {
    /// Stable id (`run-<run>-step-<index>`): the idempotency key of every attempt.
    public let id: String
    /// The workspace it belongs to.
    public let workspace: String
    /// The run that sent it.
    public let runId: Int64
    /// The template it was rendered from.
    public let template: String
    /// The channel's name in the configuration.
    public let channel: String
    /// Rendered subject.
    public let subject: String?
    /// Rendered body.
    public let body: String?
    /// The recipient's profile id.
    public let recipient: String
    /// The recipient's profile traits as they are now.
    public let profile: JSONObject
    /// This attempt's number, from 1.
    public let attempt: Int
    /// Rendered HTML (email's HTML part), when the template has one.
    public let html: String?
    /// The email address chosen when the message was written (`smtp` channels).
    public let address: String?
    /// The recipient's one-click unsubscribe link (email's `List-Unsubscribe`), if any.
    public let unsubscribeURL: String?
    /// When the message was written, epoch milliseconds (email's `Date`, the same on every attempt).
    public let createdAt: Int64

    /// A message to deliver.
    public init(
        id: String, workspace: String, runId: Int64, template: String, channel: String, subject: String?, body: String?,
        recipient: String, profile: JSONObject, attempt: Int, html: String? = nil, address: String? = nil, unsubscribeURL: String? = nil,
        createdAt: Int64 = 0
    ) {
        self.html = html
        self.address = address
        self.unsubscribeURL = unsubscribeURL
        self.createdAt = createdAt
        self.id = id
        self.workspace = workspace
        self.runId = runId
        self.template = template
        self.channel = channel
        self.subject = subject
        self.body = body
        self.recipient = recipient
        self.profile = profile
        self.attempt = attempt
    }
}

/// What one delivery attempt came to.
public enum DeliveryOutcome: Sendable, Hashable {
    /// The channel accepted the message (`sent`), with what it answered.
    case sent(String)
    /// A failure worth retrying (a timeout, a 5xx, a 429, a network error).
    case retry(String)
    /// A final failure: the receiver refused the message (`undeliverable`).
    case undeliverable(String)

    /// The words recorded in the message's history.
    public var reason: String {
        switch self {
        case .sent(let reason), .retry(let reason), .undeliverable(let reason): reason
        }
    }

    /// Whether the attempt reached a working endpoint (for its circuit breaker): a receiver
    /// that refuses a message on purpose is up.
    var endpointAnswered: Bool {
        switch self {
        case .sent, .undeliverable: true
        case .retry: false
        }
    }
}
