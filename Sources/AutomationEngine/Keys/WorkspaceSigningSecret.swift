/// A workspace's signing secret: the "Shared Secret" a Segment Webhooks (Actions) or classic
/// Webhooks destination signs each request with (`X-Signature`, hex HMAC-SHA1).
///
/// Unlike API keys it is stored as it is: checking an HMAC needs the secret itself. It only
/// authenticates ingest requests that name its workspace (`/inbound/segment/<workspace>`).
public struct WorkspaceSigningSecret: Sendable, Hashable {
    /// The shared secret, as pasted into Segment.
    public let secret: String
    /// Whether requests naming the workspace must be signed (a key alone is then refused).
    public let required: Bool

    /// A secret as stored.
    public init(secret: String, required: Bool) {
        self.secret = secret
        self.required = required
    }

    /// A new random secret: `hss_` and 40 base-62 characters (238 bits).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = APIKeySecret.alphabet
        return "hss_" + String((0..<40).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// Shortest secret Herald accepts: a shorter one could be guessed from signed requests.
    public static let minimumLength = 16
}
