extension SegmentEvent {
    /// Longest `messageId` accepted, as in Segment's Tracking API.
    public static let maximumMessageIdLength = 100

    /// Reads and validates one event object.
    ///
    /// - Parameters:
    ///   - json: the event object.
    ///   - defaultType: the call named by the endpoint (`/v1/track`), used when the body has no `type`.
    /// - Throws: ``EventValidationError/unsupportedType(_:)`` for an unknown `type`,
    ///   ``EventValidationError/invalid(_:)`` naming the field otherwise.
    public init(validating json: JSONObject, defaultType: EventType? = nil) throws(EventValidationError) {
        let type = try Self.resolveType(json, defaultType: defaultType)
        var warnings: [String] = []
        try Self.checkIdentifiers(json, type: type)
        try Self.checkObjects(json, type: type)
        try Self.checkCallFields(json, type: type)
        Self.checkTimestamps(json, warnings: &warnings)
        if type == .identify, let email = json["email"], !email.isNull {
            // The Event Tester sends both; only a top-level email Herald actually uses (traits
            // have none) or one that disagrees with traits deserves a word.
            switch json["traits"]?.objectValue?["email"] {
            case nil, .null?:
                warnings.append("email is at the top level; Segment's spec puts it inside traits")
            case let traitsEmail? where traitsEmail != email:
                warnings.append("email at the top level differs from traits.email; Herald uses traits.email")
            default:
                break
            }
        }
        self.init(type: type, json: json, warnings: warnings)
    }

    /// Refuses an event in which a key occurs twice in its own object, or in one object at any
    /// depth of its `context` or `traits`: JSON leaves the meaning open, Herald would read the
    /// last occurrence (a userId, a profile's email) while the stored raw JSON keeps both, and
    /// whoever reads that raw JSON next may take the first. `properties` (and `integrations`,
    /// `_metadata`...) are not checked: Segment's own production traffic repeats keys there
    /// (`random.log` of its direct-integration tester corpus), Segment does not retry a 400, and
    /// Herald reads them the way Segment's pipeline does, the last occurrence winning.
    /// Ingest and dry runs check this before ``init(validating:defaultType:)``; events stored
    /// earlier are read as before.
    /// - Throws: ``EventValidationError/invalid(_:)`` naming the key and where it is, e.g.
    ///   "duplicate key `userId` in the event", "duplicate key `email` in `context.traits`".
    public static func checkUniqueKeys(_ json: JSONObject) throws(EventValidationError) {
        if let key = json.firstRepeatedKey { throw repeatedKey(key, path: "") }
        for member in json where member.key == "context" || member.key == "traits" {
            if case .object(let object) = member.value, let repeated = object.firstRepeatedKeyAtAnyDepth() {
                throw repeatedKey(repeated.key, path: member.key + (repeated.path.isEmpty || repeated.path.hasPrefix("[") ? "" : ".") + repeated.path)
            }
        }
    }

    private static func repeatedKey(_ key: String, path: String) -> EventValidationError {
        .invalid("duplicate key `\(key.excerpt)` in \(path.isEmpty ? "the event" : "`\(path)`"); send each key of an object once")
    }

    /// The call `json` names (its `type` in any case, or `defaultType` when it has none) when
    /// Herald knows it; nil for an unknown or non-string `type`. For counting rejected events.
    static func declaredType(of json: JSONObject, defaultType: EventType?) -> EventType? {
        guard let raw = json["type"], !raw.isNull else { return defaultType }
        return raw.stringValue.flatMap { EventType(rawValue: $0.lowercased()) }
    }

    private static func resolveType(_ json: JSONObject, defaultType: EventType?) throws(EventValidationError) -> EventType {
        guard let raw = json["type"], !raw.isNull else {
            if let defaultType { return defaultType }
            throw .invalid("event requires `type` (one of identify, track, page, screen, group, alias, delete)")
        }
        guard let text = raw.stringValue else {
            throw .invalid("`type` must be a string, not \(raw.kindName)")
        }
        guard let type = EventType(rawValue: text.lowercased()) else {
            throw .unsupportedType(text)
        }
        if let defaultType, defaultType != type {
            throw .invalid("`type` is \"\(text.excerpt)\" but this endpoint takes \(defaultType.rawValue) events")
        }
        return type
    }

    private static func checkIdentifiers(_ json: JSONObject, type: EventType) throws(EventValidationError) {
        for field in ["userId", "anonymousId", "messageId"] {
            if let value = json[field], !value.isNull, value.identifierText == nil {
                throw .invalid("`\(field)` must be a string, not \(value.kindName)")
            }
        }
        let userId = nonEmpty(json["userId"]?.identifierText)
        let anonymousId = nonEmpty(json["anonymousId"]?.identifierText)
        if userId == nil && anonymousId == nil {
            throw .invalid("\(type.rawValue) event requires `userId` or `anonymousId`")
        }
        // Counted in Unicode scalars: counting characters let 100 letters each carrying dozens
        // of combining marks through as a 12 KB id.
        if let messageId = json["messageId"]?.identifierText, messageId.unicodeScalars.count > maximumMessageIdLength {
            throw .invalid("`messageId` is \(messageId.unicodeScalars.count) characters; the limit is \(maximumMessageIdLength)")
        }
        try checkNoNUL(json, type: type)
    }

    /// Fields that identify a user, a group, an event or its name are stored as SQLite text
    /// and compared there; SQLite reads a bound string only up to a NUL, so `"u\u0000x"` would
    /// be stored, deduplicated and matched as `"u"`, someone else's profile.
    private static func checkNoNUL(_ json: JSONObject, type: EventType) throws(EventValidationError) {
        let fields: [(name: String, value: JSONValue?)] = [
            ("userId", json["userId"]), ("anonymousId", json["anonymousId"]), ("messageId", json["messageId"]),
            ("groupId", json["groupId"]), ("previousId", json["previousId"]), ("event", json["event"]), ("name", json["name"]),
            ("context.groupId", json["context"]?.objectValue?["groupId"]),
        ]
        for field in fields {
            guard let text = field.value?.identifierText, text.unicodeScalars.contains("\u{0}") else { continue }
            throw .invalid("\(type.rawValue) event: `\(field.name)` contains a NUL character (\\u0000), which an id or a name cannot hold")
        }
    }

    private static func checkObjects(_ json: JSONObject, type: EventType) throws(EventValidationError) {
        for field in ["context", "integrations", "properties", "traits"] {
            if let value = json[field], !value.isNull, value.objectValue == nil {
                throw .invalid("\(type.rawValue) event: `\(field)` must be an object, not \(value.kindName)")
            }
        }
    }

    private static func checkCallFields(_ json: JSONObject, type: EventType) throws(EventValidationError) {
        switch type {
        case .track:
            guard let event = json["event"], !event.isNull else { throw .invalid("track event requires `event`") }
            guard let name = event.stringValue else { throw .invalid("track event: `event` must be a string, not \(event.kindName)") }
            guard !name.isEmpty else { throw .invalid("track event requires a non-empty `event`") }
        case .page, .screen:
            if let name = json["name"], !name.isNull, name.stringValue == nil {
                throw .invalid("\(type.rawValue) event: `name` must be a string, not \(name.kindName)")
            }
        case .group:
            try checkIdentifierKind(json, "groupId", type: type)
            guard nonEmpty(json["groupId"]?.identifierText) != nil else { throw .invalid("group event requires `groupId`") }
        case .alias:
            try checkIdentifierKind(json, "previousId", type: type)
            guard nonEmpty(json["previousId"]?.identifierText) != nil else { throw .invalid("alias event requires `previousId`") }
            guard nonEmpty(json["userId"]?.identifierText) != nil else { throw .invalid("alias event requires `userId`") }
        case .identify, .delete:
            break
        }
    }

    /// A call's own id, when present, is a string or a number like the user ids.
    private static func checkIdentifierKind(_ json: JSONObject, _ field: String, type: EventType) throws(EventValidationError) {
        if let value = json[field], !value.isNull, value.identifierText == nil {
            throw .invalid("\(type.rawValue) event: `\(field)` must be a string, not \(value.kindName)")
        }
    }

    private static func checkTimestamps(_ json: JSONObject, warnings: inout [String]) {
        for field in ["timestamp", "originalTimestamp", "sentAt"] {
            guard let value = json[field], !value.isNull else { continue }
            guard let text = value.stringValue else {
                warnings.append("`\(field)` is \(value.kindName), not an ISO-8601 time; it was ignored")
                continue
            }
            if Timestamp(iso8601: text) == nil {
                warnings.append("`\(field)` \"\(text.prefix(64))\" is not an ISO-8601 time; it was ignored")
            }
        }
        let read = { (field: String) in json[field]?.stringValue.flatMap(Timestamp.init(iso8601:)) }
        if let sentAt = read("sentAt"), let original = read("originalTimestamp") ?? read("timestamp"),
            clockSkew(sentAt: sentAt, eventTime: original) == nil
        {
            warnings.append("`sentAt` is more than 100 years from the event's time; the sender's clock was not corrected")
        }
    }
}
