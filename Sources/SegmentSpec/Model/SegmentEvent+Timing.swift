extension SegmentEvent {
    /// When the event happened, as Herald records it.
    ///
    /// With `sentAt`, the sender's clock is corrected as Segment does:
    /// `receivedAt - (sentAt - originalTimestamp)` (`timestamp` stands in when
    /// `originalTimestamp` is absent). Without `sentAt`, `timestamp` (or
    /// `originalTimestamp`) as sent. When no time can be read, `receivedAt`.
    public func resolvedTimestamp(receivedAt: Timestamp) -> Timestamp {
        let original = parsed(originalTimestampText) ?? parsed(timestampText)
        if let sentAt = parsed(sentAtText), let original {
            let skew = sentAt.millisecondsSince1970 - original.millisecondsSince1970
            return Timestamp(millisecondsSince1970: receivedAt.millisecondsSince1970 - skew)
        }
        return parsed(timestampText) ?? original ?? receivedAt
    }

    private func parsed(_ text: String?) -> Timestamp? {
        text.flatMap(Timestamp.init(iso8601:))
    }
}
