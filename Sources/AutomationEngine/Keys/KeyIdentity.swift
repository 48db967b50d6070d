/// Who a request is, once its key checked out.
public struct KeyIdentity: Sendable, Hashable {
    /// The key's id (visible prefix), safe to log.
    public let keyId: String
    /// The workspace all of the request's data belongs to.
    public let workspaceId: String
    /// What the key may do.
    public let scope: KeyScope

    /// An identity for a key of `scope` in `workspaceId`.
    public init(keyId: String, workspaceId: String, scope: KeyScope) {
        self.keyId = keyId
        self.workspaceId = workspaceId
        self.scope = scope
    }
}
