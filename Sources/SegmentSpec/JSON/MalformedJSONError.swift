/// The request body is not valid JSON. The message says what is wrong and at which byte.
public struct MalformedJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong, in words a client developer can act on.
    public let reason: String
    /// Zero-based byte offset in the input where the problem was found.
    public let offset: Int

    /// An error found at byte `offset` of the input.
    public init(reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "body is not valid JSON: \(reason) at byte \(offset)" }
}
