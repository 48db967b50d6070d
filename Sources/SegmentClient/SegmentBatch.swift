/// Calls grouped into request bodies within Segment's limits.
struct SegmentBatching {
    /// Largest call.
    let maximumEventBytes: Int
    /// Largest request body (before gzip).
    let maximumRequestBytes: Int
    /// Most calls in one request.
    let maximumEvents: Int

    /// Bytes of a body around its calls: `{"batch":[`, `],"sentAt":"…"}`, with room to spare.
    static let envelopeBytes = 64

    /// The calls in order, split into batches; and the calls too large to send at all.
    func split(_ messages: [SegmentMessage]) -> (batches: [[SegmentMessage]], tooLarge: [SegmentMessage]) {
        var batches: [[SegmentMessage]] = []
        var tooLarge: [SegmentMessage] = []
        var current: [SegmentMessage] = []
        var bytes = Self.envelopeBytes
        for message in messages {
            let size = message.byteCount
            guard size <= maximumEventBytes, size + Self.envelopeBytes <= maximumRequestBytes else {
                tooLarge.append(message)
                continue
            }
            // +1 for the comma between calls.
            if !current.isEmpty && (bytes + size + 1 > maximumRequestBytes || current.count >= maximumEvents) {
                batches.append(current)
                current = []
                bytes = Self.envelopeBytes
            }
            current.append(message)
            bytes += size + 1
        }
        if !current.isEmpty { batches.append(current) }
        return (batches, tooLarge)
    }

    /// The request body of `batch`: the Tracking API's batch envelope.
    static func body(_ batch: [SegmentMessage], sentAt: String) -> String {
        var body = "{\"batch\":["
        for (index, message) in batch.enumerated() {
            if index > 0 { body += "," }
            body += message.json
        }
        body += "],\"sentAt\":\"" + sentAt + "\"}"
        return body
    }
}
