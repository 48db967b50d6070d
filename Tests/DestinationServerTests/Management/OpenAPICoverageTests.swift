import AutomationEngine
import DestinationServer
import Foundation
import Hummingbird
import SegmentSpec
import NIOHTTP1
import Testing

@Suite("OpenAPI document and management authentication")
struct OpenAPICoverageTests {
    /// Every HTTP API route of the router as `METHOD /path/{}` (captures normalised). The web
    /// page's HTML routes are not part of the API document.
    static func routerRoutes() throws -> Set<String> {
        let store = try HeraldStore.inMemory()
        let router = buildRouter(ServerConfiguration(), store: store, writer: GroupCommitWriter(store: store), metrics: HeraldMetrics())
        let apiPrefixes = ["/api/", "/v1/", "/inbound/", "/health", "/metrics"]
        return Set(router.routes.map { "\($0.method.rawValue) \(normalise($0.path.description))" }.filter { route in
            apiPrefixes.contains { route.split(separator: " ")[1].hasPrefix($0) }
        })
    }

    static func normalise(_ path: String) -> String {
        let components = path.split(separator: "/").map { component in
            component.hasPrefix(":") || component.hasPrefix("{") ? "{}" : String(component)
        }
        return "/" + components.joined(separator: "/")
    }

    @Test("every route is documented in /api/openapi.yaml and every documented operation exists")
    func coverage() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.get("/api/openapi.yaml")
            #expect(reply.status == 200)
            let document = try #require(ConfigurationDocument.json(yaml: reply.body))
            #expect(document["openapi"] == "3.1.0")
            let methods = ["get", "put", "post", "delete", "patch"]
            var documented: Set<String> = []
            for path in document["paths"]?.objectValue?.members ?? [] {
                for operation in path.value.objectValue?.members ?? [] where methods.contains(operation.key) {
                    documented.insert("\(operation.key.uppercased()) \(Self.normalise(path.key))")
                    #expect(operation.value["responses"] != nil, "\(operation.key) \(path.key) documents no responses")
                    if path.key.hasPrefix("/api/") && path.key != "/api/openapi.yaml" {
                        #expect(operation.value["responses"]?["401"] != nil && operation.value["responses"]?["403"] != nil,
                                "\(operation.key) \(path.key) must document 401 and 403")
                    }
                }
            }
            let routes = try Self.routerRoutes()
            #expect(routes.count > 40)
            #expect(routes.subtracting(documented).sorted() == [], "routes missing from the document")
            #expect(documented.subtracting(routes).sorted() == [], "documented operations the router does not have")
        }
    }

    @Test("the document's `webhooks: message` describes the body and headers a webhook channel really sends")
    func webhookDocumented() async throws {
        try await LiveHerald.run { herald in
            let document = try #require(ConfigurationDocument.json(yaml: try await herald.get("/api/openapi.yaml").body))
            let operation = try #require(document["webhooks"]?["message"]?["post"])
            let headers = (operation["parameters"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
            let message = OutgoingMessage(
                id: "run-1-step-0", workspace: "default", runId: 1, template: "welcome", channel: "email", subject: nil, body: "Hi",
                recipient: "ada", profile: JSONObject([(key: "firstName", value: .string("Ada"))]), attempt: 1)
            let request = WebhookRequest(message: message, url: "https://mailer.example.org/send", signed: true)
            // Every header but Content-Type is documented, and every documented one is sent.
            #expect(Set(headers) == Set(request.headers.map(\.name).filter { $0 != "Content-Type" }))
            let schema = try #require(document["components"]?["schemas"]?["WebhookMessage"])
            let sentKeys = request.body.objectValue?.members.map(\.key) ?? []
            #expect(Set(schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(sentKeys))
            #expect(Set(schema["properties"]?.objectValue?.members.map(\.key) ?? []) == Set(sentKeys))
            // `email` is documented, and documented as possibly absent (the profile above has none).
            let profile = schema["properties"]?["recipient"]?["properties"]?["profile"]
            #expect(profile?["properties"]?["email"] != nil)
            #expect(profile?["required"] == nil)
            #expect(operation["description"]?.stringValue?.contains("hmac.compare_digest") == true)
        }
    }

    @Test("every management route answers 401 without a key and 403 with an ingest key, as JSON")
    func everyRouteNeedsAnAdminKey() async throws {
        let routes = try Self.routerRoutes().filter { $0.contains(" /api/") && !$0.hasSuffix("/openapi.yaml") }
        try await LiveHerald.run { herald in
            for route in routes.sorted() {
                let parts = route.split(separator: " ", maxSplits: 1)
                let path = parts[1].replacingOccurrences(of: "{}", with: "1")
                let method = HTTPMethod(rawValue: String(parts[0]))
                let anonymous = try await herald.request(method, path, body: "{}", auth: .none)
                #expect(anonymous.status == 401, "\(route)")
                #expect(anonymous.message != nil, "\(route)")
                let ingest = try await herald.request(method, path, body: "{}", auth: .bearer(herald.ingestKey))
                #expect(ingest.status == 403, "\(route)")
            }
        }
    }
}
