/// An expression that does not parse, with where and why.
public struct ConditionSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let reason: String
    /// One-based line within the expression.
    public let line: Int
    /// One-based column within that line.
    public let column: Int

    /// An error at `line` and `column` of the expression.
    public init(reason: String, line: Int, column: Int) {
        self.reason = reason
        self.line = line
        self.column = column
    }

    public var description: String { "line \(line), column \(column): \(reason)" }
}
