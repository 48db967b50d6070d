/// The Segment calls Herald understands: the six of the Spec plus the GDPR `delete`.
public enum EventType: String, Sendable, Hashable, CaseIterable, Codable {
    case identify
    case track
    case page
    case screen
    case group
    case alias
    case delete
}
