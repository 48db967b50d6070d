/// Why a whole request body was refused (as opposed to one event in a batch).
public enum PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not JSON at all.
    case malformed(MalformedJSONError)
    /// JSON, but not shaped like an event, an array of events or a batch envelope.
    case invalidShape(String)
    /// A batch with more events than allowed.
    case tooManyEvents(count: Int, limit: Int)

    public var description: String {
        switch self {
        case .malformed(let error): return error.description
        case .invalidShape(let message): return message
        case .tooManyEvents(let count, let limit): return "batch has \(count) events; the limit is \(limit)"
        }
    }
}
