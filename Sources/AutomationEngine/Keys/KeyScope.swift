/// What an API key may do.
public enum KeyScope: String, Sendable, Hashable, CaseIterable, Codable {
    /// Send events to the ingest endpoints.
    case ingest
    /// Send events and use the management API of its workspace.
    case admin
}
