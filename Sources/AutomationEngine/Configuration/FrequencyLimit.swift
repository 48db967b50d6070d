/// A frequency cap: at most `max` sends to one recipient within `per`, counted over the sends
/// it covers. A workspace's `limits:` cover a channel (and optionally a topic) across
/// automations; an automation's `throttle:` covers that automation's sends (per rendered key).
public struct FrequencyLimit: Sendable, Hashable {
    /// The channel whose sends count (`limits:`); nil: every channel.
    public var channel: String?
    /// The topic whose sends count (`limits:`); nil: every topic.
    public var topic: String?
    /// Sends allowed within `per`.
    public var max: Int
    /// The sliding window the sends are counted over.
    public var per: Duration
    /// What happens to a send over the cap.
    public var overLimit: OverLimit
    /// Template of the throttle key (`throttle: { key: "{{data.thread_id}}" }`); nil: one count per recipient.
    public var key: String?

    /// What a send over a cap becomes.
    public enum OverLimit: String, Sendable, Hashable, CaseIterable {
        /// The message is written `skipped`, with the cap as its reason.
        case skip
        /// The step waits until the cap allows it, then sends.
        case `defer`
    }

    /// A cap.
    public init(channel: String? = nil, topic: String? = nil, max: Int, per: Duration, overLimit: OverLimit = .skip, key: String? = nil) {
        self.channel = channel
        self.topic = topic
        self.max = max
        self.per = per
        self.overLimit = overLimit
        self.key = key
    }

    /// How a history and a skipped message name this cap: "limit 3 per 1d on email".
    public var describedAsLimit: String {
        "limit \(max) per \(DurationText.describe(milliseconds: per.wholeMilliseconds))" + (channel.map { " on \($0)" } ?? "")
            + (topic.map { " for topic \($0)" } ?? "")
    }
}

extension HeraldConfiguration {
    /// The longest window of the configuration's caps (`limits:` and every `throttle:`): a
    /// counted send older than it can no longer count against any of them. Nil: no caps.
    public var longestCapWindow: Duration? {
        (limits.map(\.per) + automations.compactMap { $0.throttle?.per }).max()
    }
}
