public import Foundation

/// Who a call is about: Segment needs a `userId`, an `anonymousId`, or both.
public enum SegmentIdentity: Sendable, Hashable {
    /// A known user.
    case user(String)
    /// A visitor not identified yet.
    case anonymous(String)
    /// Both ids (the anonymous id is linked to the user).
    case both(userId: String, anonymousId: String)

    var fields: [String: SegmentValue] {
        switch self {
        case .user(let id): ["userId": .string(id)]
        case .anonymous(let id): ["anonymousId": .string(id)]
        case .both(let userId, let anonymousId): ["userId": .string(userId), "anonymousId": .string(anonymousId)]
        }
    }
}

/// The library a call names in `context.library` (Segment shows it in its debugger).
public struct SegmentLibrary: Sendable, Hashable {
    /// The library's name.
    public var name: String
    /// Its version.
    public var version: String

    /// A library of this name and version.
    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    /// Herald's release version, which this library ships with.
    public static let heraldVersion = "0.1.0"

    /// Herald, at ``heraldVersion``.
    public static let herald = SegmentLibrary(name: "herald", version: heraldVersion)
}

/// One Segment call (identify, track, page, screen, group, alias) as the JSON object the
/// Tracking API takes, with the `messageId` Segment deduplicates it by.
///
/// Build one with the static functions (``track(_:identity:properties:context:timestamp:messageId:library:)``
/// and the others), or from JSON text you composed yourself with ``init(json:)``. A message
/// keeps its `messageId` for its whole life: send it again after a failure and Segment
/// counts it once.
public struct SegmentMessage: Sendable, Hashable {
    /// The call types of the Tracking API.
    public static let types: Set<String> = ["identify", "track", "page", "screen", "group", "alias"]

    /// The id Segment deduplicates by.
    public let messageId: String
    /// `identify`, `track`, `page`, `screen`, `group` or `alias`.
    public let type: String
    /// The call as one JSON object.
    public let json: String

    /// Why JSON text is not a Segment call.
    public struct InvalidMessage: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in words.
        public let reason: String
        public var description: String { reason }
    }

    /// A call from its JSON text, sent as it is: it must be an object with a `type` of the
    /// Tracking API, a non-empty string `messageId`, and a `userId` or `anonymousId` (an
    /// `alias` needs `userId` and `previousId`). Nothing is added to it: give it its own
    /// `timestamp` and `context.library`.
    public init(json: String) throws(InvalidMessage) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])) as? [String: Any] else {
            throw InvalidMessage(reason: "a Segment call is a JSON object")
        }
        guard let type = object["type"] as? String, Self.types.contains(type) else {
            throw InvalidMessage(reason: "`type` must be one of identify, track, page, screen, group, alias")
        }
        guard let messageId = object["messageId"] as? String, !messageId.isEmpty else {
            throw InvalidMessage(reason: "`messageId` must be a non-empty string: it is what Segment deduplicates a resent call by")
        }
        let hasUser = (object["userId"] as? String).map { !$0.isEmpty } ?? false
        let hasAnonymous = (object["anonymousId"] as? String).map { !$0.isEmpty } ?? false
        guard hasUser || hasAnonymous else { throw InvalidMessage(reason: "a Segment call needs `userId` or `anonymousId`") }
        switch type {
        case "track" where (object["event"] as? String).map(\.isEmpty) ?? true:
            throw InvalidMessage(reason: "a track call needs `event`")
        case "group" where (object["groupId"] as? String).map(\.isEmpty) ?? true:
            throw InvalidMessage(reason: "a group call needs `groupId`")
        case "alias" where !hasUser || (object["previousId"] as? String).map(\.isEmpty) ?? true:
            throw InvalidMessage(reason: "an alias call needs `userId` and `previousId`")
        default: break
        }
        self.messageId = messageId
        self.type = type
        self.json = json
    }

    private init(type: String, identity: SegmentIdentity?, fields: [String: SegmentValue], context: [String: SegmentValue],
                 timestamp: Date, messageId: String?, library: SegmentLibrary) {
        var object = identity?.fields ?? [:]
        object.merge(fields) { _, new in new }
        var context = context
        context["library"] = ["name": .string(library.name), "version": .string(library.version)]
        object["type"] = .string(type)
        object["context"] = .object(context)
        object["timestamp"] = .string(SegmentTime.iso8601(timestamp))
        let id = messageId ?? UUID().uuidString.lowercased()
        object["messageId"] = .string(id)
        self.messageId = id
        self.type = type
        self.json = SegmentValue.object(object).jsonText
    }

    /// Bytes of the call as JSON: Segment refuses a call over 32 KB.
    public var byteCount: Int { json.utf8.count }

    /// An identify call: who the user is, with their traits.
    /// - Parameters:
    ///   - messageId: the id for this logical call; a new UUID when nil. Pass a stable one when
    ///     the same call may be built twice (after a restart), so Segment counts it once.
    ///   - timestamp: when it happened (now by default).
    public static func identify(
        _ identity: SegmentIdentity, traits: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil, library: SegmentLibrary = .herald
    ) -> SegmentMessage {
        SegmentMessage(type: "identify", identity: identity, fields: ["traits": .object(traits)], context: context,
                       timestamp: timestamp, messageId: messageId, library: library)
    }

    /// A track call: the user did `event`.
    public static func track(
        _ event: String, identity: SegmentIdentity, properties: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil, library: SegmentLibrary = .herald
    ) -> SegmentMessage {
        SegmentMessage(type: "track", identity: identity, fields: ["event": .string(event), "properties": .object(properties)],
                       context: context, timestamp: timestamp, messageId: messageId, library: library)
    }

    /// A page call: the user saw a web page (`name` may be nil).
    public static func page(
        _ name: String?, identity: SegmentIdentity, properties: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil, library: SegmentLibrary = .herald
    ) -> SegmentMessage {
        var fields: [String: SegmentValue] = ["properties": .object(properties)]
        if let name { fields["name"] = .string(name) }
        return SegmentMessage(type: "page", identity: identity, fields: fields, context: context, timestamp: timestamp,
                              messageId: messageId, library: library)
    }

    /// A screen call: the user saw an app screen (`name` may be nil).
    public static func screen(
        _ name: String?, identity: SegmentIdentity, properties: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil, library: SegmentLibrary = .herald
    ) -> SegmentMessage {
        var fields: [String: SegmentValue] = ["properties": .object(properties)]
        if let name { fields["name"] = .string(name) }
        return SegmentMessage(type: "screen", identity: identity, fields: fields, context: context, timestamp: timestamp,
                              messageId: messageId, library: library)
    }

    /// A group call: the user belongs to `groupId` (a company, an account), with its traits.
    public static func group(
        _ groupId: String, identity: SegmentIdentity, traits: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil, library: SegmentLibrary = .herald
    ) -> SegmentMessage {
        SegmentMessage(type: "group", identity: identity, fields: ["groupId": .string(groupId), "traits": .object(traits)],
                       context: context, timestamp: timestamp, messageId: messageId, library: library)
    }

    /// An alias call: `previousId` (an anonymous id, an old user id) is now `userId`.
    public static func alias(
        userId: String, previousId: String, context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil, library: SegmentLibrary = .herald
    ) -> SegmentMessage {
        SegmentMessage(type: "alias", identity: .user(userId), fields: ["previousId": .string(previousId)], context: context,
                       timestamp: timestamp, messageId: messageId, library: library)
    }
}

/// Timestamps as Segment writes them: ISO 8601 in UTC with milliseconds.
public enum SegmentTime {
    /// `2026-11-24T16:45:00.123Z`.
    public static func iso8601(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }
}
