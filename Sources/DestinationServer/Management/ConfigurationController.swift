import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// The workspace's configuration (DESIGN §3):
/// - `GET /api/config`: the version in force, as YAML and JSON (`?format=yaml` for the file alone);
/// - `PUT /api/config`: apply a new one (YAML, or JSON, which is YAML too): 201 with its
///   version, 200 with `"unchanged": true` and the version in force when the text is that
///   version's, or 422 with every problem at its line and column;
/// - `GET /api/config/versions` (paged), `GET /api/config/versions/{version}`: earlier versions;
/// - `GET /api/mappings|automations|templates|channels`: one section of the version in force.
struct ConfigurationController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    let store: any ManagementStorage
    let bodyReader: RequestBodyReader

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("config") { request, context in try await current(request, admin: context.identity) }
        router.put("config") { request, context in try await apply(request, admin: context.identity) }
        router.get("config/versions") { request, context in try await versions(request, admin: context.identity) }
        router.get("config/versions/{version}") { request, context in try await version(request, text: context.parameters.path("version"), admin: context.identity) }
        for section in ["mappings", "automations", "templates", "channels"] {
            router.get("\(section)") { request, context in try await self.section(section, request, admin: context.identity) }
        }
        return router
    }

    private func current(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        guard let version = try await store.currentConfiguration(workspace: identity.workspaceId) else { throw Self.noConfiguration(identity) }
        if try QueryParameters(request).oneOf("format", ["json", "yaml"]) == "yaml" {
            return Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: version.yaml)))
        }
        return JSONResponse.make(body: .object(version.json))
    }

    private func apply(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let yaml = String(decoding: try await bodyReader.read(request), as: UTF8.self)
        do {
            let applied = try await store.applyConfigurationIfChanged(yaml: yaml, workspace: identity.workspaceId)
            var body = applied.version.json
            body["yaml"] = nil
            body["json"] = nil
            body["unchanged"] = .bool(applied.isUnchanged)
            // Valid but probably not meant (an `on:` no event can have), each at its line.
            let warnings = (try? ConfigurationLoader.load(yaml: yaml, secrets: .none, requireSecrets: false))?.warnings ?? []
            body["warnings"] = .array(warnings.map(Self.issueJSON))
            // The same text as the version in force stores nothing: 200 with that version, not 201.
            return JSONResponse.make(status: applied.isUnchanged ? .ok : .created, body: .object(body))
        } catch let error as ConfigurationError {
            return Self.invalid(error)
        }
    }

    private func versions(_ request: Request, admin identity: KeyIdentity) async throws -> Response {
        let parameters = QueryParameters(request)
        let limit = try parameters.limit()
        let before = try parameters.integer("cursor").map { Int(clamping: $0) }
        let page = try await store.configurationVersions(workspace: identity.workspaceId, before: before, limit: limit + 1)
        let shown = page.prefix(limit)
        return JSONResponse.make(body: [
            "versions": .array(shown.map { version in
                var object = version.json
                object["yaml"] = nil
                object["json"] = nil
                return .object(object)
            }),
            "nextCursor": page.count > limit ? .string(String(shown.last!.version)) : .null,
        ])
    }

    private func version(_ request: Request, text: String, admin identity: KeyIdentity) async throws -> Response {
        guard let number = Int(text) else { throw HeraldHTTPError.badRequest("a configuration version is a number, not \"\(text)\"") }
        guard let version = try await store.configurationVersion(workspace: identity.workspaceId, number: number) else {
            throw HeraldHTTPError(.notFound, "workspace \(identity.workspaceId) has no configuration version \(number)")
        }
        return JSONResponse.make(body: .object(version.json))
    }

    private func section(_ name: String, _ request: Request, admin identity: KeyIdentity) async throws -> Response {
        guard let version = try await store.currentConfiguration(workspace: identity.workspaceId) else { throw Self.noConfiguration(identity) }
        let document = ConfigurationDocument.json(yaml: version.yaml)
        // Lists stay lists; named sections (channels, templates, automations) become lists of `{name, ...}`.
        let value = document?[name] ?? (name == "mappings" ? .array([]) : .object(JSONObject()))
        let items: [JSONValue]
        if case .object(let named) = value {
            items = named.members.map { member in
                var item = JSONObject([(key: "name", value: .string(member.key))])
                for field in member.value.objectValue ?? JSONObject() { item[field.key] = field.value }
                return .object(item)
            }
        } else {
            items = value.arrayValue ?? []
        }
        return JSONResponse.make(body: .object(JSONObject([(key: name, value: .array(items)), (key: "version", value: .number(JSONNumber(version.version)))])))
    }

    static func noConfiguration(_ identity: KeyIdentity) -> HeraldHTTPError {
        HeraldHTTPError(.notFound, "workspace \(identity.workspaceId) has no configuration yet: PUT one to /api/config or run `herald apply -f herald.yaml`")
    }

    /// `{line, column, message}`.
    static func issueJSON(_ issue: ConfigurationIssue) -> JSONValue {
        .object(JSONObject([
            (key: "line", value: .number(JSONNumber(issue.line))), (key: "column", value: .number(JSONNumber(issue.column))),
            (key: "message", value: .string(issue.message)),
        ]))
    }

    /// 422 with the problems, each with its line and column.
    static func invalid(_ error: ConfigurationError) -> Response {
        let issues = error.issues.map(issueJSON)
        let first = error.issues.first.map { ": line \($0.line), column \($0.column): \($0.message)" } ?? ""
        return JSONResponse.make(status: .unprocessableContent, body: .object(JSONObject([
            (key: "message", value: .string("configuration is invalid (\(error.issues.count) problem\(error.issues.count == 1 ? "" : "s"))\(first)")),
            (key: "issues", value: .array(issues)),
        ])))
    }
}

extension ConfigurationVersion {
    var json: JSONObject {
        var object = JSONObject()
        object["version"] = .number(JSONNumber(version))
        object["appliedAt"] = .string(appliedAt.iso8601)
        object["yaml"] = .string(yaml)
        object["json"] = ConfigurationDocument.json(yaml: yaml) ?? .null
        return object
    }
}
