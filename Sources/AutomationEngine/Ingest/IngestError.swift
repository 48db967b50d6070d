/// Why an append was not done. The server maps these to 401 and 503.
public enum IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key was revoked (or deleted) after the request was authenticated.
    case keyRevoked
    /// Too many events are waiting to be written; retry shortly.
    case queueFull
    /// The server is shutting down and takes no new events.
    case shuttingDown
    /// The database failed the transaction; nothing of it was written.
    case storeUnavailable(String)

    public var description: String {
        switch self {
        case .keyRevoked: return "the API key is unknown or revoked"
        case .queueFull: return "Herald is taking in more events than it can write; retry shortly"
        case .shuttingDown: return "Herald is shutting down; retry shortly"
        case .storeUnavailable(let reason): return "the event store is unavailable (\(reason)); retry shortly"
        }
    }
}
