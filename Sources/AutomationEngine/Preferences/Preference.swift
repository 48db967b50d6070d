public import SegmentSpec

/// Whether a recipient gets a topic's messages.
public enum PreferenceStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Subscribed: messages are sent.
    case optIn = "opt_in"
    /// Unsubscribed: messages are `skipped`.
    case optOut = "opt_out"
}

/// One choice of a recipient: a topic (or all topics, `*`) on a channel (or all channels, `*`).
public struct PreferenceChoice: Sendable, Hashable {
    /// What ``topic`` and ``channel`` hold to mean "all of them".
    public static let all = "*"

    /// The topic's name, or `*` for every topic (and messages without one).
    public var topic: String
    /// A channel's name from the configuration, or `*` for every channel.
    public var channel: String
    /// In or out.
    public var status: PreferenceStatus

    /// A choice for `topic` on `channel`.
    public init(topic: String, channel: String = PreferenceChoice.all, status: PreferenceStatus) {
        self.topic = topic
        self.channel = channel
        self.status = status
    }
}

/// A recipient's choice as stored: the choice, where it came from and when.
public struct PreferenceRecord: Sendable, Hashable {
    /// The choice.
    public let choice: PreferenceChoice
    /// Who made it: `api`, `page`, `one-click`, `identify`.
    public let source: String
    /// When.
    public let updatedAt: Timestamp

    /// A stored choice.
    public init(choice: PreferenceChoice, source: String, updatedAt: Timestamp) {
        self.choice = choice
        self.source = source
        self.updatedAt = updatedAt
    }
}

/// Where a preference change came from, as recorded with it.
public enum PreferenceSource: String, Sendable, Hashable, CaseIterable {
    /// `PUT /api/profiles/{id}/preferences`.
    case api
    /// The hosted preference page `/p/<token>`.
    case page
    /// An email client's RFC 8058 one-click unsubscribe POST.
    case oneClick = "one-click"
    /// An identify call setting the `unsubscribed` trait.
    case identify
}
