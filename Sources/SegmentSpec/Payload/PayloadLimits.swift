/// Size limits of Segment's Tracking API, which Herald enforces the same way.
public struct PayloadLimits: Sendable, Hashable {
    /// Largest single event, encoded (Segment: 32 KB).
    public var maximumEventBytes: Int
    /// Largest request body, after gzip inflation (Segment: 500 KB).
    public var maximumRequestBytes: Int
    /// Most events in one batch (Segment's libraries flush well below this).
    public var maximumBatchEvents: Int

    /// Segment's limits: 32 KB per event, 500 KB per request, 2,500 events per batch.
    public static let segment = PayloadLimits(maximumEventBytes: 32 * 1024, maximumRequestBytes: 500 * 1024, maximumBatchEvents: 2500)

    /// Custom limits.
    public init(maximumEventBytes: Int, maximumRequestBytes: Int, maximumBatchEvents: Int) {
        self.maximumEventBytes = maximumEventBytes
        self.maximumRequestBytes = maximumRequestBytes
        self.maximumBatchEvents = maximumBatchEvents
    }
}
