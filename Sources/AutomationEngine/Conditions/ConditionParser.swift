import SegmentSpec

/// Recursive-descent parser of the condition language.
///
/// Grammar, loosest binding first:
/// ```
/// or      := and ("||" and)*
/// and     := unary ("&&" unary)*
/// unary   := "!" unary | test
/// test    := operand ( ("=="|"!="|"<"|"<="|">"|">=") operand
///                    | "contains" operand | "startsWith" operand
///                    | "in" "[" (operand ("," operand)*)? "]" | "exists" )?
/// operand := literal | path | "exists" "(" path ")" | "(" or ")"
/// ```
enum ConditionParser {
    static func parse(_ text: String) throws(ConditionSyntaxError) -> Condition {
        var parser = Parser(tokens: try Lexer.tokens(of: text))
        let condition = try parser.parseOr()
        guard case .end = parser.current.kind else {
            throw parser.error("unexpected \(parser.current.kind.describe) after the end of the expression")
        }
        return condition
    }
}

struct Token {
    enum Kind: Equatable {
        case string(String)
        case number(String)
        case word(String)  // identifiers and keywords: true, false, null, contains, startsWith, in, exists
        case symbol(String)
        case end

        var describe: String {
            switch self {
            case .string(let s): return "string \"\(s)\""
            case .number(let n): return "number \(n)"
            case .word(let w): return "`\(w)`"
            case .symbol(let s): return "`\(s)`"
            case .end: return "end of expression"
            }
        }
    }

    let kind: Kind
    let line: Int
    let column: Int
}

enum Lexer {
    static func tokens(of text: String) throws(ConditionSyntaxError) -> [Token] {
        let scalars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        var line = 1
        var lineStart = 0
        func column(_ at: Int) -> Int { at - lineStart + 1 }
        while index < scalars.count {
            let c = scalars[index]
            if c == "\n" {
                index += 1
                line += 1
                lineStart = index
                continue
            }
            if c == " " || c == "\t" || c == "\r" {
                index += 1
                continue
            }
            let start = index
            if c == "\"" || c == "'" {
                index += 1
                var value = ""
                while true {
                    guard index < scalars.count, scalars[index] != "\n" else {
                        throw ConditionSyntaxError(reason: "string is not closed (missing \(c))", line: line, column: column(start))
                    }
                    let s = scalars[index]
                    if s == c { index += 1; break }
                    if s == "\\", index + 1 < scalars.count {
                        let next = scalars[index + 1]
                        switch next {
                        case "n": value.unicodeScalars.append("\n")
                        case "t": value.unicodeScalars.append("\t")
                        default: value.unicodeScalars.append(next)
                        }
                        index += 2
                        continue
                    }
                    value.unicodeScalars.append(s)
                    index += 1
                }
                tokens.append(Token(kind: .string(value), line: line, column: column(start)))
                continue
            }
            if c.properties.numericType != nil && c.isASCII || (c == "-" && index + 1 < scalars.count && scalars[index + 1].isASCIIDigit) {
                index += 1
                while index < scalars.count, scalars[index].isASCIIDigit || scalars[index] == "." || scalars[index] == "e" || scalars[index] == "E"
                    || ((scalars[index] == "+" || scalars[index] == "-") && (scalars[index - 1] == "e" || scalars[index - 1] == "E"))
                {
                    index += 1
                }
                let literal = String(String.UnicodeScalarView(scalars[start..<index]))
                guard (try? JSONParser.parse(literal))?.numberValue != nil else {
                    throw ConditionSyntaxError(reason: "\(literal) is not a number", line: line, column: column(start))
                }
                tokens.append(Token(kind: .number(literal), line: line, column: column(start)))
                continue
            }
            if c.isIdentifierStart {
                index += 1
                while index < scalars.count, scalars[index].isIdentifierPart { index += 1 }
                tokens.append(Token(kind: .word(String(String.UnicodeScalarView(scalars[start..<index]))), line: line, column: column(start)))
                continue
            }
            let two = index + 1 < scalars.count ? String(String.UnicodeScalarView(scalars[index...index + 1])) : ""
            if ["==", "!=", "<=", ">=", "&&", "||"].contains(two) {
                tokens.append(Token(kind: .symbol(two), line: line, column: column(start)))
                index += 2
                continue
            }
            if "<>!()[],.".unicodeScalars.contains(c) {
                tokens.append(Token(kind: .symbol(String(c)), line: line, column: column(start)))
                index += 1
                continue
            }
            if c == "=" {
                throw ConditionSyntaxError(reason: "`=` is not an operator; compare with `==`", line: line, column: column(start))
            }
            throw ConditionSyntaxError(reason: "unexpected character `\(c)`", line: line, column: column(start))
        }
        tokens.append(Token(kind: .end, line: line, column: column(index)))
        return tokens
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { value >= 48 && value <= 57 }
    var isIdentifierStart: Bool { (value >= 65 && value <= 90) || (value >= 97 && value <= 122) || value == 95 || value == 36 }
    var isIdentifierPart: Bool { isIdentifierStart || isASCIIDigit || value == 45 }
}

struct Parser {
    let tokens: [Token]
    var position = 0

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    var current: Token { tokens[position] }

    func error(_ reason: String, at token: Token? = nil) -> ConditionSyntaxError {
        let token = token ?? current
        return ConditionSyntaxError(reason: reason, line: token.line, column: token.column)
    }

    mutating func advance() { if position < tokens.count - 1 { position += 1 } }

    mutating func accept(_ symbol: String) -> Bool {
        if case .symbol(symbol) = current.kind {
            advance()
            return true
        }
        return false
    }

    mutating func acceptWord(_ word: String) -> Bool {
        if case .word(word) = current.kind {
            advance()
            return true
        }
        return false
    }

    mutating func parseOr() throws(ConditionSyntaxError) -> Condition {
        var lhs = try parseAnd()
        while accept("||") { lhs = .or(lhs, try parseAnd()) }
        return lhs
    }

    mutating func parseAnd() throws(ConditionSyntaxError) -> Condition {
        var lhs = try parseUnary()
        while accept("&&") { lhs = .and(lhs, try parseUnary()) }
        return lhs
    }

    mutating func parseUnary() throws(ConditionSyntaxError) -> Condition {
        if accept("!") { return .not(try parseUnary()) }
        return try parseTest()
    }

    mutating func parseTest() throws(ConditionSyntaxError) -> Condition {
        let lhs = try parseOperand()
        if case .symbol(let symbol) = current.kind, let op = Condition.ComparisonOperator(rawValue: symbol) {
            advance()
            return .compare(op, lhs, try parseOperand())
        }
        if acceptWord("contains") { return .contains(lhs, try parseOperand()) }
        if acceptWord("startsWith") { return .startsWith(lhs, try parseOperand()) }
        if acceptWord("exists") { return .exists(lhs) }
        if acceptWord("in") {
            let open = current
            guard accept("[") else { throw error("expected `[` after `in`", at: open) }
            var list: [Condition] = []
            if !accept("]") {
                repeat { list.append(try parseOperand()) } while accept(",")
                guard accept("]") else { throw error("expected `,` or `]` in the list after `in`") }
            }
            return .isIn(lhs, list)
        }
        return lhs
    }

    mutating func parseOperand() throws(ConditionSyntaxError) -> Condition {
        let token = current
        switch token.kind {
        case .string(let value):
            advance()
            return .literal(.string(value))
        case .number(let literal):
            advance()
            return .literal((try? JSONParser.parse(literal)) ?? .null)
        case .symbol("("):
            advance()
            let inner = try parseOr()
            guard accept(")") else { throw error("expected `)` to close the `(` at column \(token.column)") }
            return inner
        case .word("true"):
            advance()
            return .literal(.bool(true))
        case .word("false"):
            advance()
            return .literal(.bool(false))
        case .word("null"):
            advance()
            return .literal(.null)
        case .word("exists") where tokens.count > position + 1 && tokens[position + 1].kind == .symbol("("):
            advance()
            advance()
            let operand = try parseOperand()
            guard accept(")") else { throw error("expected `)` after exists(...") }
            return .exists(operand)
        case .word(let word):
            guard ConditionRoots.all.contains(word) else {
                throw error("unknown name `\(word)`: paths start with \(ConditionRoots.all.map { "`\($0)`" }.joined(separator: ", "))")
            }
            advance()
            var components = [word]
            while accept(".") {
                switch current.kind {
                case .word(let part), .string(let part), .number(let part):
                    components.append(part)
                    advance()
                default:
                    throw error("expected a name after `.` in \(components.joined(separator: "."))")
                }
            }
            return .path(components)
        case .end:
            throw error("the expression ends where a value was expected")
        default:
            throw error("expected a value, found \(token.kind.describe)")
        }
    }
}

/// The names a path may start with.
public enum ConditionRoots {
    /// `data`, `traits`, `profile`, `group`, `event`.
    public static let all = ["data", "traits", "profile", "group", "event"]
}
