public import SegmentSpec

/// What the page's overview shows of a workspace: how many events arrive, what was sent
/// where and how it went, and how far behind the engine is.
///
/// Counts are over a recent window and bounded (``WorkspaceOverview/maximumRowsCounted`` of
/// the newest events and messages), so the overview costs the same on a large database.
public struct WorkspaceOverview: Sendable, Hashable {
    /// At most this many of the newest events (and messages) are counted.
    public static let maximumRowsCounted = 100_000

    /// Events received in each of the last minutes, oldest first (index 0 is the minute
    /// that started at ``since``).
    public let eventsPerMinute: [Int]
    /// The start of the first minute.
    public let since: Timestamp
    /// Messages of the window by channel name (`(none)` without one) and status.
    public let messagesByChannelAndStatus: [ChannelStatusCount]
    /// Events of the workspace the engine has not processed yet.
    public let unprocessedEvents: Int
    /// When the oldest of them arrived, nil when there is none.
    public let oldestUnprocessedAt: Timestamp?

    /// How many messages of one channel are in one status.
    public struct ChannelStatusCount: Sendable, Hashable {
        /// The channel's name.
        public let channel: String
        /// The status.
        public let status: String
        /// How many.
        public let count: Int

        /// A count.
        public init(channel: String, status: String, count: Int) {
            self.channel = channel
            self.status = status
            self.count = count
        }
    }

    /// An overview of these parts.
    public init(
        eventsPerMinute: [Int], since: Timestamp, messagesByChannelAndStatus: [ChannelStatusCount], unprocessedEvents: Int,
        oldestUnprocessedAt: Timestamp?
    ) {
        self.eventsPerMinute = eventsPerMinute
        self.since = since
        self.messagesByChannelAndStatus = messagesByChannelAndStatus
        self.unprocessedEvents = unprocessedEvents
        self.oldestUnprocessedAt = oldestUnprocessedAt
    }
}
