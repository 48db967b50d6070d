import GRDB
public import SegmentSpec

/// An event as the log holds it.
public struct StoredEvent: Sendable, Hashable {
    /// Position in the event log (increasing, never reused).
    public let seq: Int64
    /// Workspace it belongs to.
    public let workspaceId: String
    /// The sender's messageId (or Herald's when absent).
    public let messageId: String
    /// The call.
    public let type: String
    /// Courier-style name.
    public let name: String
    /// `userId`, when sent.
    public let userId: String?
    /// `anonymousId`, when sent.
    public let anonymousId: String?
    /// Server clock at receipt.
    public let receivedAt: Timestamp
    /// When it happened (skew-corrected).
    public let timestamp: Timestamp
    /// Decoded `X-Segment-Settings`, when sent.
    public let settings: String?
    /// Warnings recorded at ingest.
    public let warnings: [String]
    /// The event's JSON as received.
    public let raw: String

    /// Bytes of the raw JSON and settings: what showing the event costs, roughly.
    public var byteCount: Int { raw.utf8.count + (settings?.utf8.count ?? 0) }

    /// The log's row for `event`, appended at `seq`.
    init(seq: Int64, appended event: IngestEvent) {
        self.seq = seq
        workspaceId = event.workspaceId
        messageId = event.messageId
        type = event.type.rawValue
        name = event.name
        userId = event.userId
        anonymousId = event.anonymousId
        receivedAt = event.receivedAt
        timestamp = event.timestamp
        settings = event.settings
        warnings = event.warnings
        raw = event.raw
    }

    init(row: Row) {
        seq = row["seq"]
        workspaceId = row["workspaceId"]
        messageId = row["messageId"]
        type = row["type"]
        name = row["name"]
        userId = row["userId"]
        anonymousId = row["anonymousId"]
        receivedAt = Timestamp(millisecondsSince1970: row["receivedAt"])
        timestamp = Timestamp(millisecondsSince1970: row["timestamp"])
        settings = row["settings"]
        let warningsText: String? = row["warnings"]
        warnings = warningsText.flatMap { try? JSONParser.parse($0).arrayValue?.compactMap(\.stringValue) } ?? []
        raw = row["raw"]
    }

    /// The raw JSON parsed.
    public var json: JSONValue? { try? JSONParser.parse(raw) }

    /// The event validated again from ``raw``; nil when it no longer reads as an event.
    public var validatedEvent: SegmentEvent? { validated(json) }

    /// The event validated from `json` (``raw`` already parsed by the caller). The stored
    /// type stands in for a body without one (sent to `/v1/<call>`).
    public func validated(_ json: JSONValue?) -> SegmentEvent? {
        json?.objectValue.flatMap { try? SegmentEvent(validating: $0, defaultType: EventType(rawValue: type)) }
    }
}
