public import SegmentSpec

/// A stored API key: never the key itself, only its hash and visible prefix.
public struct APIKeyRecord: Sendable, Hashable {
    /// The key's visible prefix (`hk_` + 8 characters), also its id.
    public let id: String
    /// The workspace the key belongs to.
    public let workspaceId: String
    /// What the key may do.
    public let scope: KeyScope
    /// Creation time.
    public let createdAt: Timestamp
    /// Revocation time; nil while the key is valid.
    public let revokedAt: Timestamp?
}
