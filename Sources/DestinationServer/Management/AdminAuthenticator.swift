import AutomationEngine
import HTTPTypes
import Hummingbird

/// Authenticates management API requests: an `admin` key of the workspace, by Basic or
/// Bearer. Looked up in the database on every request (no cache), so revocation is
/// immediate for the API that can change configuration.
struct AdminAuthenticator: Sendable {
    let store: any ManagementStorage

    func requireAdmin(_ request: Request) async throws -> KeyIdentity {
        // A browser that cached Basic credentials for /api would attach them to another
        // site's forms too; browsers say where a request comes from, and the API is not
        // meant to be called from other sites' pages.
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" || site == "same-site" {
            throw HeraldHTTPError(.forbidden, "requests from other sites' pages are refused; call the management API from your own tools")
        }
        guard let key = try RequestCredentials.key(from: request.headers) else {
            throw HeraldHTTPError.unauthorized("missing API key: send `Authorization: Bearer <admin key>` or Basic with the key as username")
        }
        guard let identity = try await store.identity(for: APIKeySecret(plaintext: key)) else {
            throw HeraldHTTPError.unauthorized("API key is unknown or revoked")
        }
        guard identity.scope == .admin else {
            throw HeraldHTTPError(.forbidden, "this key has scope `ingest`; the management API needs an `admin` key")
        }
        return identity
    }
}
