import AutomationEngine
import Foundation
import Hummingbird

/// The management API under `/api/` (DESIGN §4): every route needs an `admin` key and sees
/// only that key's workspace. `GET /api/openapi.yaml` describes it, and the ingest endpoints.
struct ManagementAPI<Context: RequestContext>: Sendable {
    /// Bodies of management requests (configurations, events to try) up to 1 MB.
    static var bodyLimit: Int { 1 << 20 }
    let store: any ManagementStorage
    let dryRun: DryRun
    let replayer: Replayer
    let cancellationTTL: Duration
    /// Where preference links point.
    let links: PreferenceLinks
    let failures: AuthenticationFailureLog

    func add(to router: Router<Context>) {
        let authenticator = AdminAuthenticator(store: store)
        let reader = RequestBodyReader(limit: Self.bodyLimit)
        EventsController<Context>(store: store, authenticator: authenticator).add(to: router)
        ProfilesController<Context>(store: store, authenticator: authenticator).add(to: router)
        PreferencesController<Context>(store: store, authenticator: authenticator, bodyReader: reader, links: links).add(to: router)
        ConfigurationController<Context>(store: store, authenticator: authenticator, bodyReader: reader).add(to: router)
        RunsController<Context>(store: store, authenticator: authenticator, bodyReader: reader, cancellationTTL: cancellationTTL).add(to: router)
        MessagesController<Context>(store: store, authenticator: authenticator).add(to: router)
        MessageReportsController<Context>(store: store, authenticator: authenticator, bodyReader: RequestBodyReader(limit: 64 * 1024)).add(to: router)
        DryRunController<Context>(store: store, dryRuns: dryRun, replays: replayer, authenticator: authenticator, bodyReader: reader).add(to: router)
        KeysController<Context>(store: store, authenticator: authenticator, bodyReader: reader, failures: failures).add(to: router)
        router.get("/api/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }
}

/// The OpenAPI 3.1 description of Herald's HTTP API, shipped as a resource.
enum OpenAPIDocument {
    /// The document's text, read once.
    static let yaml: String = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml"), let text = try? String(contentsOf: url, encoding: .utf8) else {
            return "openapi: 3.1.0\ninfo: {title: Herald, version: unknown, description: the OpenAPI resource is missing from this installation}\npaths: {}\n"
        }
        return text
    }()
}
