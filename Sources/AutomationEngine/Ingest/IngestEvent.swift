import Foundation
public import SegmentSpec

/// One validated event ready for the event log: what DESIGN §2 says is stored for every event.
public struct IngestEvent: Sendable {
    /// The workspace of the key that sent it.
    public let workspaceId: String
    /// The sender's `messageId`, or one Herald generated when it was absent.
    public let messageId: String
    /// The call.
    public let type: EventType
    /// Courier-style name (`track/Order Completed`).
    public let name: String
    /// `userId`, when sent.
    public let userId: String?
    /// `anonymousId`, when sent.
    public let anonymousId: String?
    /// Server clock at receipt.
    public let receivedAt: Timestamp
    /// When the event happened (skew-corrected).
    public let timestamp: Timestamp
    /// Decoded `X-Segment-Settings` JSON, when the header was sent.
    public let settings: String?
    /// Warnings about the event (top-level email, unreadable timestamps...).
    public let warnings: [String]
    /// The event's JSON as received, as text (converted here, on the request's thread,
    /// so the single writer does not have to).
    public let raw: String
    /// ``warnings`` as a JSON array, or nil when there are none (prepared for the writer too).
    let warningsJSON: String?
    /// Segment Event Tester messages are exempt from deduplication.
    public let isExemptFromDedup: Bool
    /// The validated event, handed to the engine after commit (``ParsedEventHandoff``).
    let event: SegmentEvent

    /// Builds the log entry for a validated event.
    ///
    /// - Parameters:
    ///   - event: the validated event.
    ///   - raw: its JSON as received (`DecodedEvent.storedJSON` of SegmentSpec).
    ///   - workspaceId: the authenticated workspace.
    ///   - receivedAt: server time of receipt.
    ///   - settings: decoded `X-Segment-Settings`, if any.
    ///   - extraWarnings: warnings found outside the event (about headers).
    public init(event: SegmentEvent, raw: [UInt8], workspaceId: String, receivedAt: Timestamp, settings: String? = nil, extraWarnings: [String] = []) {
        self.workspaceId = workspaceId
        self.messageId = event.messageId ?? "herald-" + UUID().uuidString.lowercased()
        self.type = event.type
        self.name = event.courierName
        self.userId = event.userId
        self.anonymousId = event.anonymousId
        self.receivedAt = receivedAt
        self.timestamp = event.resolvedTimestamp(receivedAt: receivedAt)
        self.settings = settings
        let warnings = event.warnings + extraWarnings
        self.warnings = warnings
        self.raw = String(decoding: raw, as: UTF8.self)
        self.warningsJSON = warnings.isEmpty ? nil : JSONValue.array(warnings.map(JSONValue.string)).encodedString()
        self.isExemptFromDedup = event.isEventTesterMessage
        self.event = event
    }
}

/// What happened to one event of an append.
public enum AppendOutcome: Sendable, Hashable {
    /// Stored at this position of the event log.
    case accepted(seq: Int64)
    /// Already stored within the dedup window; acknowledged, not stored again.
    case duplicate
}
