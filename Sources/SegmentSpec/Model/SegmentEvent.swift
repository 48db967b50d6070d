/// One validated Segment call with typed access to the Spec's fields.
///
/// The event is a view over ``json``, the object as received (after a batch's shared
/// `context`/`integrations`/`sentAt` were merged in), so nothing the sender put in it is
/// lost. Build one with ``init(validating:defaultType:)``.
public struct SegmentEvent: Sendable, Hashable {
    /// The call.
    public let type: EventType
    /// The whole event object; unknown fields included.
    public let json: JSONObject
    /// Problems that did not stop the event (unparseable timestamps, the Event Tester's
    /// top-level `email`), in words for the person debugging.
    public let warnings: [String]

    init(type: EventType, json: JSONObject, warnings: [String]) {
        self.type = type
        self.json = json
        self.warnings = warnings
    }

    // MARK: Common fields

    /// `messageId`, the sender's unique id for this call (Herald's dedup key).
    public var messageId: String? { nonEmpty(json["messageId"]?.identifierText) }
    /// `userId`; a numeric id is read as its decimal text, as Segment does.
    public var userId: String? { nonEmpty(json["userId"]?.identifierText) }
    /// `anonymousId`.
    public var anonymousId: String? { nonEmpty(json["anonymousId"]?.identifierText) }
    /// The id Herald keys a profile by: `userId`, else `anonymousId`.
    public var profileId: String? { userId ?? anonymousId }
    /// `timestamp` text as sent.
    public var timestampText: String? { json["timestamp"]?.stringValue }
    /// `originalTimestamp` text as sent.
    public var originalTimestampText: String? { json["originalTimestamp"]?.stringValue }
    /// `sentAt` text as sent.
    public var sentAtText: String? { json["sentAt"]?.stringValue }
    /// `receivedAt` text as sent (set by Segment when it relays the event).
    public var receivedAtText: String? { json["receivedAt"]?.stringValue }
    /// `context`, empty when absent.
    public var context: EventContext { EventContext(json["context"]?.objectValue ?? JSONObject()) }
    /// `integrations`, the per-destination switches, as sent.
    public var integrations: JSONObject? { json["integrations"]?.objectValue }
    /// `channel` (`server`, `browser`, `mobile`) from the top level or the context.
    public var channel: String? { json["channel"]?.stringValue ?? context.channel }
    /// `version` of the Spec; sent as a number or a string, read as text.
    public var version: String? { json["version"]?.identifierText }

    // MARK: Call-specific fields

    /// track: the action's name.
    public var event: String? { json["event"]?.stringValue }
    /// track, page, screen: `properties`, empty when absent.
    public var properties: JSONObject { json["properties"]?.objectValue ?? JSONObject() }
    /// track: `properties.revenue`.
    public var revenue: Double? { properties["revenue"]?.doubleValue }
    /// track: `properties.currency` (ISO 4217).
    public var currency: String? { properties["currency"]?.stringValue }
    /// track: `properties.value`.
    public var value: Double? { properties["value"]?.doubleValue }
    /// page, screen: `name`.
    public var name: String? { nonEmpty(json["name"]?.stringValue) }
    /// page: `category`.
    public var category: String? { json["category"]?.stringValue }
    /// page: the page fields of `properties` (url, path, referrer, search, title, keywords).
    public var page: PageInfo { PageInfo(properties) }
    /// identify, group: `traits`, empty when absent.
    public var traits: Traits { Traits(json["traits"]?.objectValue ?? JSONObject()) }
    /// group: `groupId`.
    public var groupId: String? { nonEmpty(json["groupId"]?.identifierText) }
    /// alias: `previousId`.
    public var previousId: String? { nonEmpty(json["previousId"]?.identifierText) }
    /// Segment's Event Tester sends `email` at the top level of the call.
    public var topLevelEmail: String? { nonEmpty(json["email"]?.stringValue) }
    /// True for Segment Event Tester messages (`segment-test-message-…`), exempt from dedup.
    public var isEventTesterMessage: Bool { messageId?.hasPrefix("segment-test-message-") ?? false }
}

func nonEmpty(_ text: String?) -> String? {
    guard let text, !text.isEmpty else { return nil }
    return text
}
