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

    /// What Segment's Webhooks (Actions) destination sends to `/inbound/segment`: batches of up
    /// to 4,000 events (1,000 by default) as one JSON array. Segment's direct-tester corpus of
    /// real events averages 1.4 KB an event and its 90th percentile is 2.7 KB (BENCHMARKS.md), so
    /// 4,000 typical events are 6 to 11 MB; 24 MB leaves room for a batch of larger events (6 KB
    /// each, the corpus's largest) while still bounding a request. Each event keeps the 32 KB limit.
    public static let webhooksActions = PayloadLimits(maximumEventBytes: 32 * 1024, maximumRequestBytes: 24 * 1_048_576, maximumBatchEvents: 4000)

    /// Custom limits.
    public init(maximumEventBytes: Int, maximumRequestBytes: Int, maximumBatchEvents: Int) {
        self.maximumEventBytes = maximumEventBytes
        self.maximumRequestBytes = maximumRequestBytes
        self.maximumBatchEvents = maximumBatchEvents
    }
}
