public import Foundation

/// A `digest` step (`- digest: { window: 10m, key: "{{data.thread_id}}", max_items: 50 }`):
/// the events that start the automation for one recipient and key within the window are
/// collected into one run, whose following steps see `{{digest.count}}` and
/// `{{#digest.items}}…{{/digest.items}}` (each item's `data` and `event`).
public struct DigestSettings: Sendable, Hashable {
    /// How long a digest stays open after its first event (nil with a `schedule`).
    public var window: Duration?
    /// `schedule: "daily at 09:00"`: the digest closes at this local time of the recipient's
    /// day (minutes after midnight) instead of after a rolling window.
    public var dailyAtMinute: Int?
    /// Template of the key that separates digests of one recipient (`{{data.thread_id}}`); nil: one per recipient.
    public var key: String?
    /// A digest closes early when it holds this many items.
    public var maxItems: Int

    /// The most items a digest may hold (`max_items` is at most this, and this when absent):
    /// the run's later steps render them all.
    public static let maximumItems = 1_000

    /// Digest settings: a rolling `window`, or a daily close at `dailyAtMinute` (local time).
    public init(window: Duration?, key: String? = nil, maxItems: Int = Self.maximumItems, dailyAtMinute: Int? = nil) {
        self.window = window
        self.dailyAtMinute = dailyAtMinute
        self.key = key
        self.maxItems = maxItems
    }

    /// When a digest opened at `ms` closes: `window` later, or at the next scheduled local time
    /// in `zone` (computed with `Calendar`, so it stays at that wall-clock time across DST).
    public func closesAt(openedAt ms: Int64, in zone: TimeZone) -> Int64 {
        guard let dailyAtMinute else { return ms + (window ?? .zero).wholeMilliseconds }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let opened = Date(timeIntervalSince1970: Double(ms) / 1000)
        let next = calendar.nextDate(
            after: opened, matching: DateComponents(hour: dailyAtMinute / 60, minute: dailyAtMinute % 60, second: 0), matchingPolicy: .nextTime)
        return next.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } ?? ms + 86_400_000
    }

    /// Reads `daily at HH:MM` as minutes after midnight.
    static func dailyMinute(_ text: String) -> Int? {
        let prefix = "daily at "
        guard text.hasPrefix(prefix), let minute = SendWindow.minute(String(text.dropFirst(prefix.count))), minute < 24 * 60 else { return nil }
        return minute
    }
}
