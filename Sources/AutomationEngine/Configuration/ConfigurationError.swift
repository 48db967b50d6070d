/// A problem in a configuration file, at a line and column.
public struct ConfigurationIssue: Sendable, Hashable, CustomStringConvertible {
    /// One-based line in the file (0 when unknown).
    public let line: Int
    /// One-based column in the file (0 when unknown).
    public let column: Int
    /// What is wrong and, where possible, what to write instead.
    public let message: String

    /// A problem at `line` and `column` of the file.
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

/// Every problem found in a configuration; nothing of it was applied.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The problems, in file order.
    public let issues: [ConfigurationIssue]

    public var description: String {
        "configuration is invalid:\n" + issues.map { "  \($0)" }.joined(separator: "\n")
    }
}
