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
        let reader = RequestBodyReader(limit: Self.bodyLimit)
        // A provider reports delivery with a signature instead of a key: outside the admin group.
        MessageReportsController<Context>(
            store: store, authenticator: AdminAuthenticator(store: store), bodyReader: RequestBodyReader(limit: 64 * 1024)
        ).add(to: router)
        // Every other route: authenticated once, by the group's middleware, before its handler runs.
        let api = router.group("api", context: AdminRequestContext<Context>.self)
            .add(middleware: AdminAuthenticationMiddleware<Context>(authenticator: AdminAuthenticator(store: store)))
        api.addRoutes(EventsController<Context>(store: store).routes)
        api.addRoutes(ProfilesController<Context>(store: store).routes)
        api.addRoutes(PreferencesController<Context>(store: store, bodyReader: reader, links: links).routes)
        api.addRoutes(ConfigurationController<Context>(store: store, bodyReader: reader).routes)
        api.addRoutes(RunsController<Context>(store: store, bodyReader: reader, cancellationTTL: cancellationTTL).routes)
        api.addRoutes(MessagesController<Context>(store: store).routes)
        api.addRoutes(DryRunController<Context>(store: store, dryRuns: dryRun, replays: replayer, bodyReader: reader).routes)
        api.addRoutes(KeysController<Context>(store: store, bodyReader: reader, failures: failures).routes)
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
