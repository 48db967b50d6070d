public import SegmentSpec

/// Which stored events to list, and which page of them.
///
/// Pages run newest first: pass the last `seq` of a page as ``before`` for the next one.
/// With ``after`` instead, events newer than that `seq` come oldest first (following the log).
public struct EventQuery: Sendable, Hashable {
    /// `identify`, `track`, ... (nil: all types).
    public var type: String?
    /// The Courier name, e.g. `track/Order Completed`.
    public var name: String?
    /// Events of this userId.
    public var userId: String?
    /// Events of this anonymousId.
    public var anonymousId: String?
    /// The event with this messageId.
    public var messageId: String?
    /// Received at or after this time.
    public var since: Timestamp?
    /// Received before this time.
    public var until: Timestamp?
    /// Only events older than this seq (the cursor of the next page).
    public var before: Int64?
    /// Only events newer than this seq, oldest first (following the log).
    public var after: Int64?
    /// At most this many.
    public var limit: Int
    /// When set, reading stops after the event that brings the raw JSON and settings read to
    /// this many bytes (at least one event is read): a page of large events stays small.
    public var maximumBytes: Int?

    /// A query; without arguments, the 50 most recent events.
    public init(
        type: String? = nil, name: String? = nil, userId: String? = nil, anonymousId: String? = nil, messageId: String? = nil,
        since: Timestamp? = nil, until: Timestamp? = nil, before: Int64? = nil, after: Int64? = nil, limit: Int = 50
    ) {
        self.type = type
        self.name = name
        self.userId = userId
        self.anonymousId = anonymousId
        self.messageId = messageId
        self.since = since
        self.until = until
        self.before = before
        self.after = after
        self.limit = limit
    }
}
