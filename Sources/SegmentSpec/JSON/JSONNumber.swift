/// A JSON number kept as its literal text, so re-encoding never changes it.
///
/// `10.0` stays `10.0` (a double), `10` stays an integer, and `18446744073709551615`
/// survives even though it fits neither `Int64` nor a `Double` exactly.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number exactly as written in the JSON text.
    public let literal: String

    /// Wraps a literal that is already valid JSON number grammar (the parser checks it).
    init(validatedLiteral: String) {
        self.literal = validatedLiteral
    }

    /// An integer number.
    public init(_ value: Int64) {
        self.literal = String(value)
    }

    /// An integer number.
    public init(_ value: Int) {
        self.literal = String(value)
    }

    /// A floating-point number; whole values keep a fractional part (`2.0`) so they stay doubles.
    /// Non-finite values have no JSON form and become `0`.
    public init(_ value: Double) {
        guard value.isFinite else {
            self.literal = "0"
            return
        }
        self.literal = value.description
    }

    /// True when the literal has no fraction and no exponent.
    public var isInteger: Bool {
        !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The value as `Int64` when it is an integer literal in range.
    public var int64Value: Int64? { isInteger ? Int64(literal) : nil }

    /// The value as `Double` (nearest representable).
    public var doubleValue: Double { Double(literal) ?? 0 }

    public var description: String { literal }
}
