import Mustache
import SegmentSpec

extension JSONValue {
    /// The value as the plain Swift types swift-mustache walks (`[String: Any]`, `[Any]`,
    /// strings, numbers, booleans); `null` becomes an empty string.
    var mustacheContext: Any {
        switch self {
        case .null: return ""
        case .bool(let b): return b
        case .number(let n): return n.int64Value.map { Int($0) as Any } ?? n.doubleValue
        case .string(let s): return s
        case .array(let elements): return elements.map(\.mustacheContext)
        case .object(let object):
            var dictionary: [String: Any] = [:]
            for member in object.members { dictionary[member.key] = member.value.mustacheContext }
            return dictionary
        }
    }
}

/// Renders the short templates of a configuration (tokens, subjects, bodies).
enum TemplateRenderer {
    /// The rendered text, or nil when the template does not parse (configurations are
    /// validated when applied, so that means a configuration from an older Herald).
    static func render(_ template: String, scope: JSONObject) -> String? {
        guard let parsed = try? MustacheTemplate(string: template) else { return nil }
        return parsed.render(JSONValue.object(scope).mustacheContext)
    }
}
