public import SegmentSpec
import Yams

/// The configuration file as JSON, for the management API: the YAML's structure with keys
/// in file order and scalars typed the way YAML resolves them (`10` a number, `true` a bool,
/// `10m` a string). `${ENV}` references stay as written, so no secret is shown.
public enum ConfigurationDocument {
    /// The YAML document as JSON, or nil when it is not YAML.
    public static func json(yaml: String) -> JSONValue? {
        guard ConfigurationBounds.violation(in: yaml) == nil else { return nil }
        let composed: Node?
        do { composed = try Yams.compose(yaml: yaml) } catch { return nil }
        guard let composed else { return .object(JSONObject()) }
        return json(composed)
    }

    private static func json(_ node: Node) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            return .object(JSONObject(members: mapping.map { JSONObject.Member(key: $0.key.string ?? "", value: json($0.value)) }))
        case .sequence(let sequence):
            return .array(sequence.map(json))
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { .number(JSONNumber($0)) } ?? .string(scalar.string)
            case .float: return node.float.flatMap { $0.isFinite ? .number(JSONNumber($0)) : nil } ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .alias:
            return .null
        }
    }
}
