public import SegmentSpec

/// Decides at send time whether a recipient's preferences let a message go out.
///
/// In order: an email to a profile whose `unsubscribed` trait is `true` is skipped (all email,
/// whatever the topic: Segment audiences set it through identify); then the recipient's most
/// specific choice wins: the topic on this channel, the topic on every channel, every topic
/// on this channel, every topic on every channel; without a choice, the topic's default
/// (`opt_out` topics go only to those who opted in). A message without a topic is held only
/// by an "every topic" choice or the trait.
public enum PreferenceCheck {
    /// The trait that unsubscribes a profile from all email.
    public static let unsubscribedTrait = "unsubscribed"
    /// The channel a change of the trait is recorded for in a preference history: every smtp channel.
    public static let allEmailChannels = "type:smtp"

    /// Why the message must not be sent, or nil when it may.
    /// - Parameters:
    ///   - topic: the message's topic (its template's, else its automation's).
    ///   - channel: the channel's name; `isEmail`: whether it is an `smtp` channel.
    ///   - choices: the recipient's stored choices.
    ///   - traits: the recipient's profile traits as they are now.
    public static func blockingReason(
        topic: HeraldConfiguration.Topic?, channel: String, isEmail: Bool, choices: [PreferenceRecord], traits: JSONObject?
    ) -> String? {
        if isEmail, traits?[unsubscribedTrait] == .bool(true) {
            return "the recipient's `unsubscribed` trait is true: no email is sent to them"
        }
        let all = PreferenceChoice.all
        let candidates = [(topic?.name ?? all, channel), (topic?.name ?? all, all), (all, channel), (all, all)]
        for (wantedTopic, wantedChannel) in candidates {
            guard let record = choices.first(where: { $0.choice.topic == wantedTopic && $0.choice.channel == wantedChannel }) else { continue }
            guard record.choice.status == .optOut else { return nil }
            let what = wantedTopic == all ? "every topic" : "topic `\(wantedTopic)`"
            let where_ = wantedChannel == all ? "every channel" : "channel `\(wantedChannel)`"
            return "the recipient opted out of \(what) on \(where_) (\(record.source), \(record.updatedAt.iso8601))"
        }
        if let topic, topic.defaultStatus == .optOut {
            return "topic `\(topic.name)` is sent only to recipients who opted in, and this one has not"
        }
        return nil
    }
}
