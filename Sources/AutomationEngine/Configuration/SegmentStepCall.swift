public import SegmentSpec

/// What a `- segment:` step sends to the workspace's Segment source, about the run's
/// recipient. Every string in it is a Mustache template over `{data, profile, group, event}`,
/// rendered when the step runs; the call goes through the outbox like Herald's own events.
public enum SegmentStepCall: Sendable, Hashable {
    /// `identify: { traits: {...} }`.
    case identify(traits: JSONObject)
    /// `track: "Name"` with `properties: {...}`; `revenue` and `value` are sent as numbers,
    /// `currency` as a string.
    case track(event: String, properties: JSONObject)
    /// `group: { group_id: "...", traits: {...} }`.
    case group(groupId: String, traits: JSONObject)
    /// A Tracking API call as written: `path: /v1/<type>`, `method: POST`, `body: {...}`
    /// (the recipient's id is added when the body names none).
    case raw(type: String, body: JSONObject)

    /// The Tracking API call type.
    public var type: String {
        switch self {
        case .identify: "identify"
        case .track: "track"
        case .group: "group"
        case .raw(let type, _): type
        }
    }

    /// Track properties that Segment's destinations read as numbers.
    static let numericProperties: Set<String> = ["revenue", "value"]

    /// The call's fields (without identity) after rendering with `render`; and the notes of
    /// reserved properties that were not what they must be (dropped).
    func fields(render: (JSONObject) -> JSONObject, renderText: (String) -> String) -> (JSONObject, [String]) {
        var fields = JSONObject()
        var notes: [String] = []
        switch self {
        case .identify(let traits):
            fields["traits"] = .object(render(traits))
        case .track(let event, let properties):
            fields["event"] = .string(renderText(event))
            var rendered = render(properties)
            for name in Self.numericProperties {
                guard let value = rendered[name] else { continue }
                if case .number = value { continue }
                if let text = value.stringValue, let number = try? JSONParser.parse(text), case .number = number {
                    rendered[name] = number
                } else {
                    rendered[name] = nil
                    notes.append("`\(name)` is not a number (\(value.encodedString())); left out")
                }
            }
            if let currency = rendered["currency"], currency.stringValue == nil {
                rendered["currency"] = nil
                notes.append("`currency` is not a string (\(currency.encodedString())); left out")
            }
            fields["properties"] = .object(rendered)
        case .group(let groupId, let traits):
            fields["groupId"] = .string(renderText(groupId))
            fields["traits"] = .object(render(traits))
        case .raw(_, let body):
            fields = render(body)
            fields["type"] = nil
        }
        return (fields, notes)
    }
}
