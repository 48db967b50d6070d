public import SegmentSpec

/// A parsed `when:` / `if:` expression of a Herald configuration (DESIGN §3).
///
/// Text such as `data.revenue > 0 && data.currency == "usd"` is parsed once, when the
/// configuration is applied, into this tree; ``evaluate(in:)`` then runs it without
/// parsing, and without ever failing: a missing path reads as `null`, and comparing values
/// of different kinds is false (with a note saying so).
public indirect enum Condition: Sendable, Hashable {
    /// A string, number, boolean or `null` written in the expression.
    case literal(JSONValue)
    /// A dotted path into the event's context, e.g. `data.revenue` is `["data", "revenue"]`.
    case path([String])
    /// `!operand`.
    case not(Condition)
    /// `lhs && rhs` (short-circuit).
    case and(Condition, Condition)
    /// `lhs || rhs` (short-circuit).
    case or(Condition, Condition)
    /// `lhs <op> rhs` for `== != < <= > >=`.
    case compare(ComparisonOperator, Condition, Condition)
    /// `haystack contains needle`: substring of a string, or element of an array.
    case contains(Condition, Condition)
    /// `text startsWith prefix`.
    case startsWith(Condition, Condition)
    /// `path exists`: the path is present and not `null`.
    case exists(Condition)
    /// `value in [a, b, ...]`.
    case isIn(Condition, [Condition])

    /// The comparison operators.
    public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
    }

    /// Parses an expression; errors carry the line and column of the problem.
    public init(parsing text: String) throws(ConditionSyntaxError) {
        self = try ConditionParser.parse(text)
    }

    /// Parses `text` whose paths may start with any of `roots` (``ConditionRoots``).
    public init(parsing text: String, roots: [String]) throws(ConditionSyntaxError) {
        self = try ConditionParser.parse(text, roots: roots)
    }
}

extension Condition: CustomStringConvertible {
    /// The expression written back in canonical form.
    public var description: String {
        switch self {
        case .literal(let value): return value.encodedString()
        case .path(let components): return components.joined(separator: ".")
        case .not(let operand): return "!\(operand.parenthesized)"
        case .and(let lhs, let rhs): return "\(lhs.parenthesized) && \(rhs.parenthesized)"
        case .or(let lhs, let rhs): return "\(lhs.parenthesized) || \(rhs.parenthesized)"
        case .compare(let op, let lhs, let rhs): return "\(lhs.parenthesized) \(op.rawValue) \(rhs.parenthesized)"
        case .contains(let lhs, let rhs): return "\(lhs.parenthesized) contains \(rhs.parenthesized)"
        case .startsWith(let lhs, let rhs): return "\(lhs.parenthesized) startsWith \(rhs.parenthesized)"
        case .exists(let operand): return "\(operand.parenthesized) exists"
        case .isIn(let lhs, let list): return "\(lhs.parenthesized) in [\(list.map(\.description).joined(separator: ", "))]"
        }
    }

    private var parenthesized: String {
        switch self {
        case .literal, .path: return description
        default: return "(\(description))"
        }
    }
}
