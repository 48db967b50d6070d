import Mustache
import SegmentSpec

extension JSONValue {
    /// The value as swift-mustache walks it: objects and arrays wrapped so that they render
    /// as JSON when inserted whole, strings, numbers and booleans as themselves; `null`
    /// becomes an empty string.
    var mustacheContext: Any {
        switch self {
        case .null: return ""
        case .bool(let b): return b
        case .number(let n): return n.int64Value.map { Int($0) as Any } ?? n.doubleValue
        case .string(let s): return s
        case .array(let elements): return MustacheJSONArray(elements: elements)
        case .object(let object): return MustacheJSONObject(object: object)
        }
    }
}

/// A JSON object in a template: its members are looked up by name (`{{data.order_id}}`),
/// and `{{data}}` writes the object as JSON.
struct MustacheJSONObject: MustacheParent, MustacheCustomRenderable, MustacheTransformable {
    let object: JSONObject

    func child(named name: String) -> Any? { object[name]?.mustacheContext }

    var renderText: String { JSONValue.object(object).encodedString() }

    var isNull: Bool { false }

    /// `count` and `empty`, as swift-mustache offers them on dictionaries.
    func transform(_ name: String) -> Any? {
        switch name {
        case "count": object.members.count
        case "empty": object.members.isEmpty
        default: nil
        }
    }
}

/// A JSON array in a template: a section iterates it (`{{#data.items}}…{{/data.items}}`),
/// `{{data.items.0}}` reads an element, and `{{data.items}}` writes the array as JSON.
struct MustacheJSONArray: MustacheSequence, MustacheParent, MustacheCustomRenderable, MustacheTransformable {
    let elements: [JSONValue]

    func makeIterator() -> IndexingIterator<[Any]> { elements.map(\.mustacheContext).makeIterator() }

    func child(named name: String) -> Any? {
        guard let index = Int(name), elements.indices.contains(index) else { return nil }
        return elements[index].mustacheContext
    }

    var renderText: String { JSONValue.array(elements).encodedString() }

    var isNull: Bool { false }

    /// swift-mustache's array transforms (`count`, `first`, `last`, `empty`, ...).
    func transform(_ name: String) -> Any? { elements.map(\.mustacheContext).transform(name) }
}

/// Renders the short templates of a configuration (tokens, subjects, bodies).
enum TemplateRenderer {
    /// The rendered text, or nil when the template does not parse (configurations are
    /// validated when applied, so that means a configuration from an older Herald).
    static func render(_ template: String, scope: JSONObject) -> String? {
        guard let parsed = try? TextTemplate(template) else { return nil }
        return parsed.render(scope)
    }
}
