extension SegmentEvent {
    /// When the event happened, as Herald records it.
    ///
    /// With `sentAt`, the sender's clock is corrected as Segment does:
    /// `receivedAt - (sentAt - originalTimestamp)` (`timestamp` stands in when
    /// `originalTimestamp` is absent). Without `sentAt`, `timestamp` (or
    /// `originalTimestamp`) as sent. When no time can be read, `receivedAt`.
    ///
    /// A skew over ``largestClockSkew`` is not a clock being wrong but a field being wrong
    /// (year 0 against year 9999 would put the event in year 12026): the times are then taken
    /// as sent, and validation warns about it.
    public func resolvedTimestamp(receivedAt: Timestamp) -> Timestamp {
        let timestamp = parsed(timestampText)
        let original = parsed(originalTimestampText) ?? timestamp
        if let sentAt = parsed(sentAtText), let original, let skew = Self.clockSkew(sentAt: sentAt, eventTime: original) {
            return Timestamp(millisecondsSince1970: receivedAt.millisecondsSince1970 - skew)
        }
        return timestamp ?? original ?? receivedAt
    }

    /// The largest difference between `sentAt` and `originalTimestamp` taken as the sender's
    /// clock being off: 100 years.
    public static let largestClockSkew: Int64 = 100 * 365 * 86_400_000

    /// How far the sender's clock was ahead (`sentAt` minus the event's time, in
    /// milliseconds); nil when they differ by more than ``largestClockSkew``.
    static func clockSkew(sentAt: Timestamp, eventTime: Timestamp) -> Int64? {
        let skew = sentAt.millisecondsSince1970 - eventTime.millisecondsSince1970
        return abs(skew) <= largestClockSkew ? skew : nil
    }

    private func parsed(_ text: String?) -> Timestamp? {
        text.flatMap(Timestamp.init(iso8601:))
    }
}
