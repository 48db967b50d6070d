public import SegmentSpec

/// The result of evaluating a condition, with what it looked at, for the explain trace.
public struct ConditionOutcome: Sendable, Hashable {
    /// Whether the condition holds.
    public let value: Bool
    /// The paths read and their values (`data.revenue = 0`), and any type mismatches.
    public let notes: [String]
}

extension Condition {
    /// Evaluates against `scope`, an object with the roots `data`, `traits`, `profile`,
    /// `group` and `event`. Never throws: missing paths are `null`, kind mismatches are false.
    public func evaluate(in scope: JSONObject) -> ConditionOutcome {
        var notes: [String] = []
        let value = truthy(evaluateValue(in: scope, notes: &notes))
        return ConditionOutcome(value: value, notes: notes)
    }

    func evaluateValue(in scope: JSONObject, notes: inout [String]) -> JSONValue {
        switch self {
        case .literal(let value):
            return value
        case .path(let components):
            var current: JSONValue = .object(scope)
            for component in components {
                switch current {
                case .object(let object): current = object[component] ?? .null
                case .array(let array):
                    guard let i = Int(component), array.indices.contains(i) else { current = .null; break }
                    current = array[i]
                default: current = .null
                }
            }
            let note = "\(components.joined(separator: ".")) = \(current.encodedString().prefix(80))"
            if !notes.contains(note) { notes.append(note) }
            return current
        case .not(let operand):
            return .bool(!truthy(operand.evaluateValue(in: scope, notes: &notes)))
        case .and(let lhs, let rhs):
            guard truthy(lhs.evaluateValue(in: scope, notes: &notes)) else { return .bool(false) }
            return .bool(truthy(rhs.evaluateValue(in: scope, notes: &notes)))
        case .or(let lhs, let rhs):
            if truthy(lhs.evaluateValue(in: scope, notes: &notes)) { return .bool(true) }
            return .bool(truthy(rhs.evaluateValue(in: scope, notes: &notes)))
        case .compare(let op, let lhs, let rhs):
            let l = lhs.evaluateValue(in: scope, notes: &notes)
            let r = rhs.evaluateValue(in: scope, notes: &notes)
            return .bool(Self.compare(op, l, r, lhs: lhs, rhs: rhs, notes: &notes))
        case .contains(let lhs, let rhs):
            let haystack = lhs.evaluateValue(in: scope, notes: &notes)
            let needle = rhs.evaluateValue(in: scope, notes: &notes)
            switch (haystack, needle) {
            case (.string(let text), .string(let part)): return .bool(text.contains(part))
            case (.array(let elements), _): return .bool(elements.contains { Self.equal($0, needle) })
            case (.null, _): return .bool(false)
            default:
                notes.append("type mismatch: \(lhs) is \(haystack.kindName); `contains` needs a string or an array")
                return .bool(false)
            }
        case .startsWith(let lhs, let rhs):
            let text = lhs.evaluateValue(in: scope, notes: &notes)
            let prefix = rhs.evaluateValue(in: scope, notes: &notes)
            guard case .string(let t) = text, case .string(let p) = prefix else {
                if !text.isNull { notes.append("type mismatch: `startsWith` compares strings, got \(text.kindName) and \(prefix.kindName)") }
                return .bool(false)
            }
            return .bool(t.hasPrefix(p))
        case .exists(let operand):
            return .bool(!operand.evaluateValue(in: scope, notes: &notes).isNull)
        case .isIn(let lhs, let list):
            let value = lhs.evaluateValue(in: scope, notes: &notes)
            for candidate in list where Self.equal(value, candidate.evaluateValue(in: scope, notes: &notes)) {
                return .bool(true)
            }
            return .bool(false)
        }
    }

    /// JavaScript-like truthiness: `false`, `null`, `0` and `""` are false.
    func truthy(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return false
        case .bool(let b): return b
        case .number(let n): return n.doubleValue != 0
        case .string(let s): return !s.isEmpty
        case .array, .object: return true
        }
    }

    static func equal(_ l: JSONValue, _ r: JSONValue) -> Bool {
        switch (l, r) {
        case (.number(let a), .number(let b)):
            if let x = a.int64Value, let y = b.int64Value { return x == y }
            return a.doubleValue == b.doubleValue
        default: return l == r
        }
    }

    static func compare(_ op: ComparisonOperator, _ l: JSONValue, _ r: JSONValue, lhs: Condition, rhs: Condition, notes: inout [String]) -> Bool {
        switch op {
        case .equal: return equal(l, r)
        case .notEqual: return !equal(l, r)
        default: break
        }
        let ordering: Int
        switch (l, r) {
        case (.number(let a), .number(let b)):
            if let x = a.int64Value, let y = b.int64Value {
                ordering = x < y ? -1 : (x == y ? 0 : 1)
            } else {
                ordering = a.doubleValue < b.doubleValue ? -1 : (a.doubleValue == b.doubleValue ? 0 : 1)
            }
        case (.string(let a), .string(let b)):
            ordering = a < b ? -1 : (a == b ? 0 : 1)
        default:
            if !l.isNull && !r.isNull {
                notes.append("type mismatch: \(lhs) \(op.rawValue) \(rhs) compares \(l.kindName) with \(r.kindName); false")
            }
            return false
        }
        switch op {
        case .less: return ordering < 0
        case .lessOrEqual: return ordering <= 0
        case .greater: return ordering > 0
        case .greaterOrEqual: return ordering >= 0
        case .equal, .notEqual: return false
        }
    }
}
