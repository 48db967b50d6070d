/// Why an event cannot be accepted. The message names the field and the call,
/// e.g. "track event requires `event`".
public enum EventValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The event breaks a rule of the Spec; the text says which.
    case invalid(String)
    /// `type` names a call Herald does not implement (the server answers 501).
    case unsupportedType(String)
    /// The event, once encoded, is larger than the per-event limit.
    case tooLarge(bytes: Int, limit: Int)

    public var description: String {
        switch self {
        case .invalid(let message): return message
        case .unsupportedType(let type): return "unsupported event type: \(type.excerpt)"
        case .tooLarge(let bytes, let limit): return "event is \(bytes) bytes; the limit is \(limit) bytes (32 KB)"
        }
    }
}

extension String {
    /// At most the first 64 Unicode scalars, with an ellipsis when cut: how messages quote a
    /// client's text (a 10 KB `type` made a 10 KB message). Scalars, not characters: one
    /// character can carry any number of combining marks.
    var excerpt: String {
        unicodeScalars.count <= 64 ? self : String(String.UnicodeScalarView(unicodeScalars.prefix(64))) + "…"
    }
}
