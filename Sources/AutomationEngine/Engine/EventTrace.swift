import SegmentSpec

/// What the engine did with one event and why: the explain trace of DESIGN §3.
struct EventTrace {
    private(set) var checks: [JSONValue] = []
    private(set) var effects: [String] = []
    /// Runs created while evaluating the event: `(run id, automation, state)`.
    private(set) var runs: [(id: Int64, automation: String, state: String)] = []
    var summary: String?

    mutating func effect(_ text: String) { effects.append(text) }

    mutating func started(runId: Int64, automation: String, state: String) { runs.append((runId, automation, state)) }

    mutating func check(mapping: HeraldConfiguration.Mapping, condition: ConditionOutcome?, result: String) {
        var entry = JSONObject()
        entry["on"] = .string(mapping.on)
        entry["line"] = .number(JSONNumber(mapping.line))
        if let text = mapping.whenText, let condition {
            entry["when"] = .string(text)
            entry["value"] = .bool(condition.value)
            entry["saw"] = .array(condition.notes.map(JSONValue.string))
        }
        entry["result"] = .string(result)
        checks.append(.object(entry))
    }

    /// Whether any mapping was considered for the event.
    var hasMappingChecks: Bool { !checks.isEmpty }

    var json: JSONValue {
        var object = JSONObject()
        object["mappings"] = .array(checks)
        object["effects"] = .array(effects.map(JSONValue.string))
        if let summary { object["summary"] = .string(summary) }
        return .object(object)
    }
}
