import SegmentSpec

/// JSON for people: indented, members in their order (the compact form is
/// `JSONValue.encodedString()`).
enum JSONText {
    /// `value` indented by two spaces per level; empty arrays and objects stay on one line.
    static func pretty(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let elements) where !elements.isEmpty:
            return "[\n" + elements.map { inner + pretty($0, indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let object) where !object.isEmpty:
            return "{\n" + object.members.map { member in
                inner + JSONValue.string(member.key).encodedString() + ": " + pretty(member.value, indent: inner)
            }.joined(separator: ",\n") + "\n\(indent)}"
        default:
            return value.encodedString()
        }
    }

    /// A scalar as text (strings without quotes), anything else as compact JSON.
    static func plain(_ value: JSONValue?) -> String {
        guard let value else { return "null" }
        if case .string(let text) = value { return text }
        return value.encodedString()
    }
}
