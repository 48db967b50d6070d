/// A workspace's Segment source settings (`segment:` in herald.yaml): where Herald sends the
/// events it emits (DESIGN §5), with which write key, and which of them.
public struct SegmentDestination: Sendable, Hashable {
    /// The source's write key; `${NAME}` in the file, resolved like a channel's `secret`
    /// (only from the workspace's own secrets).
    public var writeKey: String
    /// The Tracking API's base URL (Segment's US endpoint by default).
    public var endpoint: String
    /// The events sent; all of them unless `events:` lists some.
    public var events: Set<SegmentSourceEvent>

    /// Settings for a source.
    public init(writeKey: String, endpoint: String = "https://api.segment.io", events: Set<SegmentSourceEvent> = Set(SegmentSourceEvent.allCases)) {
        self.writeKey = writeKey
        self.endpoint = endpoint
        self.events = events
    }

    /// Whether the write key is still a `${NAME}` reference the server could not resolve.
    public var writeKeyIsUnresolved: Bool { writeKey.contains("${") }
}

/// The track events Herald sends to Segment as a source, by name.
public enum SegmentSourceEvent: String, Sendable, Hashable, CaseIterable {
    case messageSent = "Message Sent"
    case messageDelivered = "Message Delivered"
    case messageOpened = "Message Opened"
    case messageClicked = "Message Clicked"
    case messageUndeliverable = "Message Undeliverable"
    case messageUnroutable = "Message Unroutable"
    /// A recipient opted back in to a topic or channel (or `unsubscribed` turned false).
    case userSubscribed = "User Subscribed"
    /// A recipient opted out of a topic or channel (the preference page, one-click, the API, a trait).
    case userUnsubscribed = "User Unsubscribed"

    /// The event a message entering `status` sends, if any (`queued` and `skipped` send none).
    public init?(entering status: MessageStatus) {
        switch status {
        case .sent: self = .messageSent
        case .delivered: self = .messageDelivered
        case .opened: self = .messageOpened
        case .clicked: self = .messageClicked
        case .undeliverable: self = .messageUndeliverable
        case .unroutable: self = .messageUnroutable
        case .queued, .skipped: return nil
        }
    }
}
