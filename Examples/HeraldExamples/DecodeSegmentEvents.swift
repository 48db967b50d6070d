public import SegmentSpec

/// What a program that only wants to read Segment traffic does with `SegmentSpec` alone (no
/// server, no database): decode a request body the way Segment's libraries or Webhooks
/// (Actions) send it, and look at each event through the Segment Spec.
public enum SegmentEventReader {
    /// One event of a body: its Courier-style name and `data`, or why it is invalid.
    public struct Line: Sendable, Equatable {
        public let index: Int
        /// `track/Order Completed`, `identify`, ...; nil when the event is invalid.
        public let name: String?
        public let userId: String?
        /// `properties` of a track (Courier's `data`), `traits` of an identify, ...
        public let data: JSONObject?
        /// Why the event was refused (nil when valid).
        public let problem: String?
    }

    /// Decodes `body`, a `/v1/batch` body (`{"batch": [...]}`), a single event, or a JSON
    /// array of events (Webhooks (Actions) batching), within Segment's limits.
    /// - Throws: ``PayloadError`` when the body as a whole is unusable (not JSON, too large, ...).
    public static func read(_ body: [UInt8], limits: PayloadLimits = .webhooksActions) throws(PayloadError) -> [Line] {
        let decoded = try PayloadDecoder(limits: limits).decode(body, endpoint: .destination)
        return decoded.events.map { event in
            switch event.outcome {
            case .success(let valid):
                Line(index: event.index, name: valid.courierName, userId: valid.userId, data: valid.courierData, problem: nil)
            case .failure(let error):
                Line(index: event.index, name: nil, userId: nil, data: nil, problem: "\(error)")
            }
        }
    }
}
