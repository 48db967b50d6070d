import Foundation
import SegmentSpec

/// A template made only of text and variables (`{{data.order_id}}`, `{{{profile.name}}}`,
/// `{{& x}}`), rendered straight from the JSON scope.
///
/// Most subjects and bodies are like this, and the step worker renders two or three per
/// send while it holds the database's single writer: through swift-mustache each variable
/// costs dynamic casts and a context stack walk (a third of a send's time at a million
/// pending runs). A template with anything else (sections, comments, partials, delimiter
/// changes, transforms, `{{.}}`) is not plain and goes through swift-mustache.
///
/// The output is swift-mustache's, character for character (`PlainTemplateTests` renders
/// both ways and compares): a name is looked up in the scope's root, then each further name
/// in the value found (an object's member, an array's element by index; a scalar has none);
/// a missing value is empty; `null` is empty, numbers and booleans as Swift prints them,
/// objects and arrays as JSON; in HTML mode `{{x}}` escapes `< > & " '` as swift-mustache does.
struct PlainTemplate: Sendable {
    enum Segment: Sendable {
        case text(String)
        case variable(path: [String], escaped: Bool)
    }

    let segments: [Segment]
    let escapingHTML: Bool

    /// The plain form of `text`, or nil when it uses anything but text and variables.
    init?(_ text: String, escapingHTML: Bool) {
        var segments: [Segment] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            var tag = rest[open.upperBound...]
            let escaped: Bool
            let close: String
            if tag.first == "{" {
                tag = tag.dropFirst()
                (escaped, close) = (false, "}}}")
            } else if tag.first == "&" {
                tag = tag.dropFirst()
                (escaped, close) = (false, "}}")
            } else {
                (escaped, close) = (true, "}}")
            }
            guard let end = tag.range(of: close) else { return nil }
            let name = String(tag[..<end.lowerBound]).trimmingCharacters(in: " ")
            guard let path = Self.path(name) else { return nil }
            segments.append(.variable(path: path, escaped: escaped))
            rest = tag[end.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.segments = segments
        self.escapingHTML = escapingHTML
    }

    /// `a.b.c` as names, or nil for anything else a tag can hold (sigils, transforms, `.`).
    private static func path(_ name: String) -> [String]? {
        let names = name.split(separator: ".", omittingEmptySubsequences: false)
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(Self.isNameByte) }) else { return nil }
        return names.map(String.init)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    /// The template over `scope`.
    func render(_ scope: JSONObject) -> String {
        var output = ""
        for segment in segments {
            switch segment {
            case .text(let text):
                output += text
            case .variable(let path, let escaped):
                guard let value = Self.lookUp(path, in: scope) else { continue }
                let text = Self.text(of: value)
                output += escaped && escapingHTML ? HTMLEscaping.escape(text) : text
            }
        }
        return output
    }

    private static func lookUp(_ path: [String], in scope: JSONObject) -> JSONValue? {
        guard var current = scope[path[0]] else { return nil }
        for name in path.dropFirst() {
            switch current {
            case .object(let object):
                guard let member = object[name] else { return nil }
                current = member
            case .array(let elements):
                guard let index = Int(name), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    private static func text(of value: JSONValue) -> String {
        switch value {
        case .null: ""
        case .bool(let flag): String(describing: flag)
        case .number(let number): number.int64Value.map { String(describing: Int($0)) } ?? String(describing: number.doubleValue)
        case .string(let text): text
        case .array, .object: value.encodedString()
        }
    }
}
