/// A `digest` step (`- digest: { window: 10m, key: "{{data.thread_id}}", max_items: 50 }`):
/// the events that start the automation for one recipient and key within the window are
/// collected into one run, whose following steps see `{{digest.count}}` and
/// `{{#digest.items}}…{{/digest.items}}` (each item's `data` and `event`).
public struct DigestSettings: Sendable, Hashable {
    /// How long a digest stays open after its first event.
    public var window: Duration
    /// Template of the key that separates digests of one recipient (`{{data.thread_id}}`); nil: one per recipient.
    public var key: String?
    /// A digest closes early when it holds this many items.
    public var maxItems: Int

    /// The most items a digest may hold (`max_items` is at most this, and this when absent):
    /// the run's later steps render them all.
    public static let maximumItems = 1_000

    /// Digest settings.
    public init(window: Duration, key: String? = nil, maxItems: Int = Self.maximumItems) {
        self.window = window
        self.key = key
        self.maxItems = maxItems
    }
}
