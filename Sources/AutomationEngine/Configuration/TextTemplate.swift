import Mustache
public import SegmentSpec

/// A Mustache template of a configuration (a subject, a body, a cancellation token, a value
/// of `update-profile`), parsed once and rendered as plain text.
///
/// Three things differ from swift-mustache's defaults, each for a reason:
/// - Output is text, not HTML: a webhook's JSON, a profile value or a token must keep
///   `Tom & Jerry` as written (HTML escaping turned it into `Tom &amp; Jerry`, and a token
///   rendered from `A&B` then never matched the `A&B` a cancel sent).
/// - An object or array inserted with `{{data}}` is written as JSON, not as Swift's
///   dictionary description.
/// - Sections may nest at most ``maximumSectionDepth`` deep: swift-mustache parses and
///   renders sections recursively, and 4,000 nested `{{#data.x}}` overflowed the stack.
public struct TextTemplate: Sendable {
    /// Deepest nesting of sections (`{{#…}}`, `{{^…}}`, `{{$…}}`, `{{<…}}`) accepted.
    public static let maximumSectionDepth = 32

    /// The template as written.
    public let text: String
    private let template: MustacheTemplate
    /// The same template rendered without swift-mustache, when it is only text and variables.
    private let plain: PlainTemplate?

    /// Parses `text`.
    /// - Parameter escapingHTML: for an email's HTML part: `{{x}}` escapes `<`, `&`, quotes
    ///   (event data cannot add markup), `{{{x}}}` inserts as it is. Everything else is text.
    /// - Throws: ``TemplateSyntaxError`` naming the line and column of the problem.
    public init(_ text: String, escapingHTML: Bool = false) throws(TemplateSyntaxError) {
        try Self.checkNesting(text)
        do {
            // The pragma makes every variable of the template unescaped text.
            template = try MustacheTemplate(string: (escapingHTML ? "" : "{{% CONTENT_TYPE: TEXT}}") + text)
        } catch let error as MustacheTemplate.ParserError {
            throw TemplateSyntaxError(parserError: error)
        } catch {
            throw TemplateSyntaxError(reason: "\(error)", line: 1, column: 1)
        }
        self.text = text
        plain = PlainTemplate(text, escapingHTML: escapingHTML)
    }

    /// The template rendered over `scope` (`data`, `profile`, `group`, `event`, ...).
    public func render(_ scope: JSONObject) -> String {
        plain?.render(scope) ?? template.render(JSONValue.object(scope).mustacheContext)
    }

    /// The same over a ``TemplateScope``, for several templates rendered over one scope (a
    /// message's subject and body): it is converted for swift-mustache once, if at all.
    func render(_ scope: TemplateScope) -> String {
        plain?.render(scope.object) ?? template.render(scope.mustacheContext)
    }

    /// Whether the template renders without swift-mustache (text and variables only).
    var isPlain: Bool { plain != nil }

    /// The template through swift-mustache, whatever it is (to check the plain path against).
    func renderThroughMustache(_ scope: JSONObject) -> String {
        template.render(JSONValue.object(scope).mustacheContext)
    }

    /// Counts section nesting the way swift-mustache reads tags, delimiter changes
    /// (`{{=<% %>=}}`) included, without recursion.
    static func checkNesting(_ text: String) throws(TemplateSyntaxError) {
        let scalars = Array(text.unicodeScalars)
        var open: [Unicode.Scalar] = ["{", "{"]
        var close: [Unicode.Scalar] = ["}", "}"]
        var depth = 0
        var index = 0
        var line = 1
        var lineStart = 0
        func matches(_ delimiter: [Unicode.Scalar], at position: Int) -> Bool {
            position + delimiter.count <= scalars.count && Array(scalars[position..<position + delimiter.count]) == delimiter
        }
        while index < scalars.count {
            if scalars[index] == "\n" {
                line += 1
                lineStart = index + 1
                index += 1
                continue
            }
            guard matches(open, at: index) else {
                index += 1
                continue
            }
            let tagStart = index
            index += open.count
            let sigil = index < scalars.count ? scalars[index] : " "
            if sigil == "=" {
                // `{{=<% %>=}}`: the new delimiters hold until the next change. Only a change
                // this scanner reads exactly as swift-mustache does is accepted: two ASCII
                // delimiters without `=` (a stray `=` or a non-ASCII letter, which Swift may
                // match under another normalisation, would let it lose track of the sections).
                let malformed = TemplateSyntaxError(
                    reason: "a delimiter change must be `{{=<open> <close>=}}` with two ASCII delimiters without `=`",
                    line: line, column: tagStart - lineStart + 1)
                guard let end = (index + 1..<scalars.count).first(where: { scalars[$0] == "=" && matches(close, at: $0 + 1) }) else { throw malformed }
                let parts = String(String.UnicodeScalarView(scalars[(index + 1)..<end])).split(whereSeparator: \.isWhitespace)
                guard parts.count == 2, parts.allSatisfy({ part in part.unicodeScalars.allSatisfy { $0.isASCII && $0 != "=" } }) else { throw malformed }
                open = Array(parts[0].unicodeScalars)
                close = Array(parts[1].unicodeScalars)
                index = end + 1 + close.count
                continue
            }
            if "#^$<".unicodeScalars.contains(sigil) {
                depth += 1
                if depth > maximumSectionDepth {
                    throw TemplateSyntaxError(
                        reason: "sections nest deeper than \(maximumSectionDepth) levels", line: line, column: tagStart - lineStart + 1)
                }
            } else if sigil == "/" {
                guard depth > 0 else {
                    throw TemplateSyntaxError(reason: "a closing tag `{{/…}}` has no section to close", line: line, column: tagStart - lineStart + 1)
                }
                depth -= 1
            }
            while index < scalars.count, !matches(close, at: index) {
                if scalars[index] == "\n" {
                    line += 1
                    lineStart = index + 1
                }
                index += 1
            }
            index += close.count
        }
    }
}

/// A template that does not parse, with where and why.
public struct TemplateSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong, in words.
    public let reason: String
    /// One-based line within the template.
    public let line: Int
    /// One-based column within that line.
    public let column: Int

    /// An error at `line` and `column` of the template.
    public init(reason: String, line: Int, column: Int) {
        self.reason = reason
        self.line = line
        self.column = column
    }

    init(parserError: MustacheTemplate.ParserError) {
        let reason: String =
            switch parserError.error as? MustacheTemplate.Error {
            case .sectionCloseNameIncorrect?: "a closing tag `{{/…}}` does not match the section it closes"
            case .unfinishedName?: "a tag is not closed with `}}`"
            case .expectedSectionEnd?: "a section `{{#…}}` or `{{^…}}` is never closed with `{{/…}}`"
            case .invalidSetDelimiter?: "a delimiter change `{{=… …=}}` is malformed"
            case .transformAppliedToInheritanceSection?: "a transform cannot be applied to an inheritance section"
            case .illegalTokenInsideInheritSection?, .textInsideInheritSection?: "only block definitions may appear inside `{{<…}}`"
            case .invalidConfigVariableSyntax?, .unrecognisedConfigVariable?: "a pragma `{{%…}}` is not one Herald knows (only CONTENT_TYPE: TEXT or HTML)"
            // swift-mustache's reader runs out of text inside a tag: its error type is internal
            // and says only "overflow". Anything else unknown is still said in words, never dumped.
            case nil where "\(parserError.error)" == "overflow": "a tag is not closed with `}}` (the template ends inside it)"
            case nil: "the template cannot be read here; check the tags around this place"
            }
        // The context counts the pragma Herald puts in front of the first line.
        let pragmaLength = "{{% CONTENT_TYPE: TEXT}}".count
        let line = parserError.context.lineNumber
        self.init(reason: reason, line: line, column: line == 1 ? max(1, parserError.context.columnNumber - pragmaLength) : parserError.context.columnNumber)
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}
