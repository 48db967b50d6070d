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
    static func parse(_ text: String, roots: [String] = ConditionRoots.all) throws(ConditionSyntaxError) -> Condition {
        var parser = Parser(tokens: try Lexer.tokens(of: text), roots: roots)
        let condition = try parser.parseExpression()
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
    /// The names a path may start with here (a `wait_for` match also reads `run`).
    let roots: [String]
    var position = 0

    init(tokens: [Token], roots: [String] = ConditionRoots.all) {
        self.tokens = tokens
        self.roots = roots
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

    /// Deepest expression tree accepted. Parsing, evaluating and even freeing the tree recurse
    /// once per level, so an expression thousands of levels deep (`((((…` or `!!!!…`, or a
    /// chain of 10,000 `&&`) would overflow the stack and take the whole server down.
    static let maximumDepth = 100

    /// A parsed subexpression and the depth of its tree.
    struct Parsed {
        let condition: Condition
        let depth: Int
    }

    /// A node over `children`, refused at `token` once the tree would be too deep.
    func node(_ condition: Condition, over children: Parsed..., at token: Token) throws(ConditionSyntaxError) -> Parsed {
        let depth = 1 + (children.map(\.depth).max() ?? 0)
        try checkDescent(depth, at: token)
        return Parsed(condition: condition, depth: depth)
    }

    /// The parse of a whole expression.
    mutating func parseExpression() throws(ConditionSyntaxError) -> Condition {
        try parseOr(depth: 0).condition
    }

    // `depth` counts the levels of recursion the parser itself is in, checked before each
    // descent so that the parser cannot overflow the stack either.
    mutating func parseOr(depth: Int) throws(ConditionSyntaxError) -> Parsed {
        var lhs = try parseAnd(depth: depth)
        while case .symbol("||") = current.kind {
            let token = current
            advance()
            let rhs = try parseAnd(depth: depth)
            lhs = try node(.or(lhs.condition, rhs.condition), over: lhs, rhs, at: token)
        }
        return lhs
    }

    mutating func parseAnd(depth: Int) throws(ConditionSyntaxError) -> Parsed {
        var lhs = try parseUnary(depth: depth)
        while case .symbol("&&") = current.kind {
            let token = current
            advance()
            let rhs = try parseUnary(depth: depth)
            lhs = try node(.and(lhs.condition, rhs.condition), over: lhs, rhs, at: token)
        }
        return lhs
    }

    mutating func parseUnary(depth: Int) throws(ConditionSyntaxError) -> Parsed {
        let token = current
        if accept("!") {
            try checkDescent(depth + 1, at: token)
            let operand = try parseUnary(depth: depth + 1)
            return try node(.not(operand.condition), over: operand, at: token)
        }
        return try parseTest(depth: depth)
    }

    mutating func parseTest(depth: Int) throws(ConditionSyntaxError) -> Parsed {
        let lhs = try parseOperand(depth: depth)
        let token = current
        if case .symbol(let symbol) = current.kind, let op = Condition.ComparisonOperator(rawValue: symbol) {
            advance()
            let rhs = try parseOperand(depth: depth)
            return try node(.compare(op, lhs.condition, rhs.condition), over: lhs, rhs, at: token)
        }
        if acceptWord("contains") {
            let rhs = try parseOperand(depth: depth)
            return try node(.contains(lhs.condition, rhs.condition), over: lhs, rhs, at: token)
        }
        if acceptWord("startsWith") {
            let rhs = try parseOperand(depth: depth)
            return try node(.startsWith(lhs.condition, rhs.condition), over: lhs, rhs, at: token)
        }
        if acceptWord("exists") { return try node(.exists(lhs.condition), over: lhs, at: token) }
        if acceptWord("in") {
            let open = current
            guard accept("[") else { throw error("expected `[` after `in`", at: open) }
            var list: [Parsed] = []
            if !accept("]") {
                repeat { list.append(try parseOperand(depth: depth)) } while accept(",")
                guard accept("]") else { throw error("expected `,` or `]` in the list after `in`") }
            }
            let deepest = list.max { $0.depth < $1.depth }
            return try node(.isIn(lhs.condition, list.map(\.condition)), over: lhs, deepest ?? lhs, at: token)
        }
        return lhs
    }

    /// Refuses, at `token`, a tree (or a recursion of the parser) deeper than the limit.
    func checkDescent(_ depth: Int, at token: Token) throws(ConditionSyntaxError) {
        guard depth <= Self.maximumDepth else {
            throw error("the expression nests deeper than \(Self.maximumDepth) levels; split it into simpler conditions", at: token)
        }
    }

    mutating func parseOperand(depth: Int) throws(ConditionSyntaxError) -> Parsed {
        let token = current
        switch token.kind {
        case .string(let value):
            advance()
            return Parsed(condition: .literal(.string(value)), depth: 1)
        case .number(let literal):
            advance()
            return Parsed(condition: .literal((try? JSONParser.parse(literal)) ?? .null), depth: 1)
        case .symbol("("):
            try checkDescent(depth + 1, at: token)
            advance()
            let inner = try parseOr(depth: depth + 1)
            guard accept(")") else { throw error("expected `)` to close the `(` at column \(token.column)") }
            return inner
        case .word("true"):
            advance()
            return Parsed(condition: .literal(.bool(true)), depth: 1)
        case .word("false"):
            advance()
            return Parsed(condition: .literal(.bool(false)), depth: 1)
        case .word("null"):
            advance()
            return Parsed(condition: .literal(.null), depth: 1)
        case .word("exists") where tokens.count > position + 1 && tokens[position + 1].kind == .symbol("("):
            try checkDescent(depth + 1, at: token)
            advance()
            advance()
            let operand = try parseOperand(depth: depth + 1)
            guard accept(")") else { throw error("expected `)` after exists(...") }
            return try node(.exists(operand.condition), over: operand, at: token)
        case .word(let word):
            guard roots.contains(word) else {
                throw error("unknown name `\(word)`: paths start with \(roots.map { "`\($0)`" }.joined(separator: ", "))")
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
            return Parsed(condition: .path(components), depth: 1)
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
    /// What a `wait_for` match reads: the awaited event's paths, and `run.*`, the waiting run's scope.
    public static let waitMatch = all + ["run"]
}
