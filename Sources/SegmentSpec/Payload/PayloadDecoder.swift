/// Which endpoint a body arrived on; it decides the accepted shapes.
public enum PayloadEndpoint: Sendable, Hashable {
    /// `/inbound/segment`: one event, a JSON array of events, or a `{"batch": [...]}` envelope.
    case destination
    /// `/v1/<call>`: one event of that call; `type` may be absent.
    case single(EventType)
    /// `/v1/batch`, `/v1/import`, `/v1/b`: a `{"batch": [...]}` envelope.
    case batch
}

/// How the body carried its events.
public enum PayloadShape: Sendable, Hashable {
    /// One event object.
    case single
    /// A bare JSON array of events.
    case array
    /// A `{"batch": [...]}` envelope.
    case batch
}

/// One event of a request, valid or not, with the bytes Herald stores for it.
public struct DecodedEvent: Sendable {
    /// Position in the request (0 for a single event).
    public let index: Int
    /// `messageId` as sent, for reporting a rejected event.
    public let messageId: String?
    /// The call the event names (its `type` in any case, else the endpoint's) when Herald
    /// knows it; set for a rejected event too, so refusals can be counted by type.
    public let declaredType: EventType?
    /// The validated event, or why it was rejected.
    public let outcome: Result<SegmentEvent, EventValidationError>
    /// The event's JSON as stored (empty for a rejected event): the original bytes for a single event; for an
    /// event of a batch, its original bytes with the batch's shared fields appended when merging them only adds
    /// members (and the result fits the event size limit), otherwise the compact encoding of the merged event
    /// (member order and number literals kept). A `writeKey` member is removed: credentials never reach the
    /// event log. The event size limit applies to these bytes.
    public let storedJSON: [UInt8]
}

/// A decoded request body.
public struct DecodedPayload: Sendable {
    /// How the events were carried.
    public let shape: PayloadShape
    /// A `writeKey` found at the top level of the body (Segment's libraries authenticate with it).
    public let writeKey: String?
    /// Every event of the request in order.
    public let events: [DecodedEvent]

    /// A payload of `events` carried as `shape`.
    public init(shape: PayloadShape, writeKey: String?, events: [DecodedEvent]) {
        self.shape = shape
        self.writeKey = writeKey
        self.events = events
    }
}

/// Turns a request body into events: parses, unwraps arrays and batch envelopes, merges a
/// batch's shared `context`, `integrations` and `sentAt` into each event, and validates
/// each event on its own so one bad event does not sink a batch.
public struct PayloadDecoder: Sendable {
    /// Limits applied to events and batches.
    public let limits: PayloadLimits

    /// A decoder with these limits (Segment's by default).
    public init(limits: PayloadLimits = .segment) {
        self.limits = limits
    }

    /// Most bytes a batch may expand to once shared fields are merged into its events.
    public static let maximumExpandedBatchBytes = 16 * 1_048_576

    /// Decodes a body received on `endpoint`.
    public func decode(_ body: [UInt8], endpoint: PayloadEndpoint) throws(PayloadError) -> DecodedPayload {
        let root: JSONValue
        // Where a batch's events lie in the body, so each can be stored without encoding it again.
        let elementRanges: [Range<Int>]?
        do {
            if endpoint == .destination || endpoint == .batch {
                (root, elementRanges) = try JSONParser.parse(body, elementRangesOf: "batch")
            } else {
                (root, elementRanges) = (try JSONParser.parse(body), nil)
            }
        } catch {
            throw .malformed(error)
        }
        switch (root, endpoint) {
        case (.object(let object), .single(let type)):
            return DecodedPayload(shape: .single, writeKey: object["writeKey"]?.stringValue,
                                  events: [decodeSingle(object, body: body, defaultType: type)])
        case (.object(let object), .destination) where object["batch"] == nil:
            return DecodedPayload(shape: .single, writeKey: object["writeKey"]?.stringValue,
                                  events: [decodeSingle(object, body: body, defaultType: nil)])
        case (.object(let object), .destination), (.object(let object), .batch):
            return try decodeEnvelope(object, body: body, elementRanges: elementRanges)
        case (.array(let elements), .destination):
            try checkCount(elements.count)
            let events = elements.enumerated().map { decodeElement($0.element, index: $0.offset, shared: nil) }
            return DecodedPayload(shape: .array, writeKey: nil, events: events)
        case (_, .single(let type)):
            throw .invalidShape("body must be a JSON object holding one \(type.rawValue) event, not \(root.kindName)")
        case (_, .batch):
            throw .invalidShape("body must be a JSON object with a `batch` array, not \(root.kindName)")
        case (_, .destination):
            throw .invalidShape("body must be an event object, an array of events or {\"batch\": [...]}, not \(root.kindName)")
        }
    }

    /// Decodes one element of a bare JSON array of events, cut from the body by
    /// ``JSONArraySplitter`` (Webhooks (Actions) batches): the element is stored as sent.
    ///
    /// - Parameters:
    ///   - bytes: the element's bytes, as they were in the body.
    ///   - index: its position in the array (the `rejected` list names events by it).
    ///   - offset: where the element starts in the body, for the error message.
    /// - Throws: ``PayloadError/malformed(_:)`` when the element is not valid JSON (the whole
    ///   request is refused, as a body that is not JSON is); an element that is JSON but not a
    ///   valid event is returned rejected.
    public func decodeArrayElement(_ bytes: [UInt8], index: Int, offset: Int) throws(PayloadError) -> DecodedEvent {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw .malformed(MalformedJSONError(reason: error.reason, offset: offset + error.offset))
        }
        return decodeElement(value, index: index, shared: nil, original: bytes[...])
    }

    /// The most events a bare array or a batch may hold; past it the request is refused
    /// (``PayloadError/tooManyEvents(count:limit:)``).
    public var maximumBatchEvents: Int { limits.maximumBatchEvents }

    /// The `writeKey` at the top level of `body` when it is a JSON object that has one.
    ///
    /// For a body ``decode(_:endpoint:)`` refused: Segment's libraries authenticate only with
    /// this field, and they retry every status but 400, so a batch over a limit must still be
    /// told apart from an unauthenticated request (a 401 would be retried forever).
    public static func writeKey(in body: [UInt8]) -> String? {
        guard case .object(let object)? = try? JSONParser.parse(body) else { return nil }
        return object["writeKey"]?.stringValue
    }

    private func checkCount(_ count: Int) throws(PayloadError) {
        if count > limits.maximumBatchEvents {
            throw .tooManyEvents(count: count, limit: limits.maximumBatchEvents)
        }
    }

    private func decodeSingle(_ object: JSONObject, body: [UInt8], defaultType: EventType?) -> DecodedEvent {
        if let refusal = Self.repeatedKeyRefusal(object) {
            return makeEvent(object, bytes: [], index: 0, defaultType: defaultType, refusal: refusal)
        }
        var stored = object
        let hadWriteKey = stored.contains("writeKey")
        stored["writeKey"] = nil
        let bytes = hadWriteKey ? stored.encodedBytes() : body
        return makeEvent(stored, bytes: bytes, index: 0, defaultType: defaultType)
    }

    private func decodeEnvelope(_ envelope: JSONObject, body: [UInt8], elementRanges: [Range<Int>]?) throws(PayloadError) -> DecodedPayload {
        guard let batch = envelope["batch"] else {
            throw .invalidShape("body must have a `batch` array of events")
        }
        guard case .array(let elements) = batch else {
            throw .invalidShape("`batch` must be an array of events, not \(batch.kindName)")
        }
        try checkCount(elements.count)
        // Checked as a single event's are: a wrong type here was silently dropped from every event.
        for field in ["context", "integrations"] {
            if let value = envelope[field], !value.isNull, value.objectValue == nil {
                throw .invalidShape("batch-level `\(field)` must be an object, not \(value.kindName)")
            }
        }
        // The envelope's own keys and the context it shares with every event (its events are
        // checked one by one; see SegmentEvent.checkUniqueKeys for which objects).
        if let key = envelope.firstRepeatedKey {
            throw .invalidShape("duplicate key `\(key.excerpt)` in the batch envelope; send each key once")
        }
        if let repeated = envelope["context"]?.objectValue?.firstRepeatedKeyAtAnyDepth() {
            let path = "context" + (repeated.path.isEmpty || repeated.path.hasPrefix("[") ? "" : ".") + repeated.path
            throw .invalidShape("duplicate key `\(repeated.key.excerpt)` in the batch-level `\(path)`; send each key once")
        }
        let shared = SharedFields(envelope)
        // Shared fields are copied into every event: a large batch-level context would multiply
        // into gigabytes (2,500 copies) before any per-event limit could catch it.
        let sharedBytes = shared.encodedSize
        if sharedBytes > limits.maximumEventBytes {
            throw .invalidShape("the batch-level context and integrations are \(sharedBytes) bytes; merged into each event they exceed the 32 KB event limit")
        }
        let spans = elementRanges.flatMap { $0.count == elements.count ? $0 : nil }
        // A body as large as the request limit allows must not be refused for its own size.
        let expandedLimit = max(Self.maximumExpandedBatchBytes, limits.maximumRequestBytes)
        var expanded = 0
        var events: [DecodedEvent] = []
        events.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            let decoded = decodeElement(element, index: index, shared: shared, original: spans.map { body[$0[index]] })
            expanded += decoded.storedJSON.count
            if expanded > expandedLimit {
                throw .invalidShape("the batch grows past \(expandedLimit / 1_048_576) MB once its shared context is merged into each event; send smaller batches")
            }
            events.append(decoded)
        }
        return DecodedPayload(shape: .batch, writeKey: envelope["writeKey"]?.stringValue, events: events)
    }

    /// - Parameter original: the element's bytes in the body, when known.
    private func decodeElement(_ element: JSONValue, index: Int, shared: SharedFields?, original: ArraySlice<UInt8>? = nil) -> DecodedEvent {
        guard case .object(var object) = element else {
            let error = EventValidationError.invalid("event at index \(index) must be an object, not \(element.kindName)")
            return DecodedEvent(index: index, messageId: nil, declaredType: nil, outcome: .failure(error), storedJSON: [])
        }
        // Checked before merging: a merge keeps one occurrence of a repeated key.
        if let refusal = Self.repeatedKeyRefusal(object) {
            return makeEvent(object, bytes: [], index: index, defaultType: nil, refusal: refusal)
        }
        // Merging usually only adds members (a batch-level `sentAt` to events without one): then
        // the event's own bytes with those members appended are the stored text, which saves
        // encoding every event of a batch again.
        if let original, original.first == UInt8(ascii: "{"), original.last == UInt8(ascii: "}"), !object.contains("writeKey"),
            let appended = shared.map({ $0.appendedMembers(for: object) }) ?? []
        {
            var bytes = Array(original.dropLast())
            for (position, member) in appended.enumerated() {
                if position > 0 || !object.isEmpty { bytes.append(UInt8(ascii: ",")) }
                JSONValue.writeString(member.key, to: &bytes)
                bytes.append(UInt8(ascii: ":"))
                member.value.write(to: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
            // Whitespace counts as sent: an event that fits the size limit only once compacted
            // is encoded again below, so no event is refused that compacting would let in.
            if bytes.count <= limits.maximumEventBytes {
                for member in appended { object[member.key] = member.value }
                return makeEvent(object, bytes: bytes, index: index, defaultType: nil)
            }
        }
        shared?.merge(into: &object)
        object["writeKey"] = nil
        return makeEvent(object, bytes: object.encodedBytes(), index: index, defaultType: nil)
    }

    /// Why an event with a repeated key is refused (see ``SegmentEvent/checkUniqueKeys(_:)``), or nil.
    private static func repeatedKeyRefusal(_ object: JSONObject) -> EventValidationError? {
        do {
            try SegmentEvent.checkUniqueKeys(object)
            return nil
        } catch {
            return error
        }
    }

    /// - Parameter refusal: why the event is refused before it is validated, when it is.
    private func makeEvent(_ object: JSONObject, bytes: [UInt8], index: Int, defaultType: EventType?, refusal: EventValidationError? = nil) -> DecodedEvent {
        let messageId = object["messageId"]?.identifierText
        // Looked up only for a rejected event; a valid one has its type.
        func rejected(_ error: EventValidationError) -> DecodedEvent {
            let declaredType = SegmentEvent.declaredType(of: object, defaultType: defaultType)
            return DecodedEvent(index: index, messageId: messageId, declaredType: declaredType, outcome: .failure(error), storedJSON: [])
        }
        if let refusal { return rejected(refusal) }
        guard bytes.count <= limits.maximumEventBytes else {
            return rejected(.tooLarge(bytes: bytes.count, limit: limits.maximumEventBytes))
        }
        do {
            let event = try SegmentEvent(validating: object, defaultType: defaultType)
            return DecodedEvent(index: index, messageId: messageId, declaredType: event.type, outcome: .success(event), storedJSON: bytes)
        } catch {
            return rejected(error)
        }
    }
}

/// The fields a batch envelope shares with its events.
struct SharedFields {
    let context: JSONObject?
    let integrations: JSONObject?
    let sentAt: JSONValue?

    /// Encoded size of what is copied into each event.
    var encodedSize: Int {
        (context?.encodedBytes().count ?? 0) + (integrations?.encodedBytes().count ?? 0)
    }

    init(_ envelope: JSONObject) {
        context = envelope["context"]?.objectValue
        integrations = envelope["integrations"]?.objectValue
        sentAt = envelope["sentAt"].flatMap { $0.isNull ? nil : $0 }
    }

    /// The event's own values win over the envelope's; objects merge key by key.
    func merge(into event: inout JSONObject) {
        Self.merge(context, into: &event, key: "context")
        Self.merge(integrations, into: &event, key: "integrations")
        if let sentAt, event["sentAt"] == nil || event["sentAt"]?.isNull == true {
            event["sentAt"] = sentAt
        }
    }

    /// The members ``merge(into:)`` adds to `event` when all it does is add members at the
    /// end (the event has none of the keys it fills in); nil when it would change a member
    /// the event has (a `null` it replaces, an object it merges into).
    func appendedMembers(for event: JSONObject) -> [JSONObject.Member]? {
        var appended: [JSONObject.Member] = []
        for (key, shared) in [("context", context), ("integrations", integrations)] {
            guard let shared else { continue }
            switch event[key] {
            case nil: appended.append(JSONObject.Member(key: key, value: .object(shared)))
            case .null?, .object?: return nil
            default: continue  // left alone by the merge
            }
        }
        if let sentAt {
            switch event["sentAt"] {
            case nil: appended.append(JSONObject.Member(key: "sentAt", value: sentAt))
            case .null?: return nil
            default: break
            }
        }
        return appended
    }

    /// Leaves a non-object member alone so validation reports it instead of hiding it.
    private static func merge(_ shared: JSONObject?, into event: inout JSONObject, key: String) {
        guard let shared else { return }
        switch event[key] {
        case nil, .null?: event[key] = .object(shared)
        case .object(let own)?: event[key] = .object(shared.deepMerging(own))
        default: break
        }
    }
}
