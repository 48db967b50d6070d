import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// What one workspace's admin can do with a configuration, tried against the real `herald`
/// binary (its own environment holds the secrets), and checked from the other workspace.
@Suite("Configuration attacks: one workspace's admin cannot read the server's secrets or take it down", .serialized)
struct ConfigurationAttackTests {
    /// The real server with a secret of workspace `default` and a password that no
    /// configuration may read, and an admin key of a second workspace, `other`.
    struct Server {
        let process: HeraldProcess
        let defaultAdmin: String
        let otherAdmin: String
        let directory: URL

        static let hookSecret = "s3cret-of-default-\(UUID().uuidString)"
        static let databasePassword = "db-password-\(UUID().uuidString)"

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-attack-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let database = directory.appendingPathComponent("herald.sqlite").path
            let created = try HeraldProcess.runToCompletion(["keys", "create", "--workspace", "other", "--scope", "admin", "--db", database])
            otherAdmin = try #require(created.output.split(separator: "\n").last.map(String.init))
            process = try HeraldProcess(database: database, environment: [
                "HERALD_SECRET_DEFAULT_HOOK": Self.hookSecret, "SUPER_SECRET_DB_PASSWORD": Self.databasePassword,
            ])
            // The database already had a key, so serve created no first-run keys for `default`.
            defaultAdmin = try #require(
                HeraldProcess.runToCompletion(["keys", "create", "--workspace", "default", "--scope", "admin", "--db", database]).output
                    .split(separator: "\n").last.map(String.init))
        }

        func request(_ method: HTTPMethod, _ path: String, body: String? = nil, key: String) async throws -> (status: Int, body: String) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(process.port)\(path)")
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            if let body {
                request.headers.add(name: "Content-Type", value: path == "/api/config" ? "application/yaml" : "application/json")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            let text = try await response.body.collect(upTo: 64 << 20)
            return (Int(response.status.code), String(buffer: text))
        }

        /// The server still answers `/health` (it did not crash).
        func isAlive() async throws -> Bool {
            try await request(.GET, "/health", key: "").status == 200
        }

        func stop() {
            _ = process.terminate()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func dryRun(draft: String) -> String {
        let event = #"{"type":"track","event":"Probe","userId":"u-1","properties":{}}"#
        return JSONValue.object(JSONObject([(key: "event", value: try! JSONParser.parse(event)), (key: "config", value: .string(draft))])).encodedString()
    }

    static func probeConfiguration(subject: String, body: String) -> String {
        """
        channels:
          inbox: { type: inbox }
        templates:
          probe: { channel: inbox, subject: "\(subject)", body: "\(body)" }
        automations:
          probe: { steps: [ { send: probe } ] }
        mappings:
          - on: track/Probe
            run: probe
        """
    }

    @Test("a dry run of another workspace renders ${NAME} as text: no secret, no password, no hint which names exist")
    func dryRunCannotReadTheEnvironment() async throws {
        let server = try Server()
        defer { server.stop() }
        let applied = try await server.request(.PUT, "/api/config", body: """
            channels:
              hook: { type: webhook, url: "https://mailer.example/send", secret: "${HERALD_SECRET_DEFAULT_HOOK}" }
            """, key: server.defaultAdmin)
        #expect(applied.status == 201, "\(applied.body)")
        let draft = Self.probeConfiguration(subject: "${HERALD_SECRET_DEFAULT_HOOK}", body: "db=${SUPER_SECRET_DB_PASSWORD} ${UNSET_NAME}")
        let answer = try await server.request(.POST, "/api/test", body: Self.dryRun(draft: draft), key: server.otherAdmin)
        #expect(answer.status == 200, "\(answer.body)")
        #expect(!answer.body.contains(Server.hookSecret))
        #expect(!answer.body.contains(Server.databasePassword))
        #expect(answer.body.contains("${HERALD_SECRET_DEFAULT_HOOK}"), "the subject is the literal text: \(answer.body)")
        #expect(answer.body.contains("db=${SUPER_SECRET_DB_PASSWORD} ${UNSET_NAME}"), "\(answer.body)")
        #expect(!answer.body.contains("not set"))
    }

    @Test("a secret may name only allowed variables, and the refusal is the same whether the variable exists or not")
    func secretsOnlyFromAllowedNames() async throws {
        let server = try Server()
        defer { server.stop() }
        var messages: [String] = []
        // The server's password, a name nobody set, and workspace default's own webhook secret
        // (which would let `other` have Herald sign payloads with it).
        for name in ["SUPER_SECRET_DB_PASSWORD", "NO_SUCH_VARIABLE_ANYWHERE", "HERALD_SECRET_DEFAULT_HOOK", "HERALD_SECRET_NAMES"] {
            let reply = try await server.request(.PUT, "/api/config", body: """
                channels:
                  hook: { type: webhook, url: "https://receiver.example/", secret: "${\(name)}" }
                """, key: server.otherAdmin)
            #expect(reply.status == 422, "\(reply.body)")
            #expect(!reply.body.contains(Server.databasePassword))
            messages.append(reply.body.replacingOccurrences(of: "${\(name)}", with: "${NAME}").replacingOccurrences(of: "other:\(name) ", with: "other:NAME "))
        }
        #expect(Set(messages).count == 1, "the answers must not differ: \(messages)")
        #expect(messages[0].contains("is not a secret of workspace other: name it HERALD_SECRET_OTHER_"), "\(messages[0])")
        // Outside `secret`, a reference is text: a URL that tries to smuggle one out is refused.
        let url = try await server.request(.PUT, "/api/config", body: """
            channels:
              hook: { type: webhook, url: "https://receiver.example/?db=${SUPER_SECRET_DB_PASSWORD}" }
            """, key: server.otherAdmin)
        #expect(url.status == 422)
        #expect(url.body.contains("is resolved only in a channel's `secret`"), "\(url.body)")
        // The stored and displayed configuration keeps the reference, never the value.
        let config = try await server.request(.GET, "/api/config", key: server.otherAdmin)
        #expect(!config.body.contains(Server.databasePassword))
    }

    @Test("configurations built to exhaust the stack or memory get a 422 naming the problem, and the server stays up", arguments: [
        ("a condition 30,000 parentheses deep", "condition", "nests deeper than 100 levels"),
        ("a chain of 10,000 &&", "chain", "nests deeper than 100 levels"),
        ("a template with 4,000 nested sections", "sections", "sections nest deeper than 32 levels"),
        ("YAML nested 100,000 levels", "yaml-depth", "nests deeper than 32 levels"),
        ("a 554-byte alias bomb of seven levels", "aliases-7", "once its YAML aliases (*name) are expanded"),
        ("an alias bomb of twelve levels", "aliases-12", "once its YAML aliases (*name) are expanded"),
        ("a 100 KB scalar repeated by 1,000 aliases (few values, 100 MB)", "alias-bytes", "MB of text once its YAML aliases (*name) are expanded"),
        ("a 300 KB configuration", "size", "the limit is 256 KB"),
        ("a webhook timeout of 100 years", "timeout", "`timeout` must be a duration from `1s` to `60s`"),
    ])
    func hostileConfigurations(what: String, kind: String, message: String) async throws {
        let server = try Server()
        defer { server.stop() }
        let yaml = Self.hostile(kind)
        let reply = try await server.request(.PUT, "/api/config", body: yaml, key: server.otherAdmin)
        #expect(reply.status == 422, "\(what): \(reply.status) \(reply.body.prefix(300))")
        #expect(reply.body.contains(message), "\(what): \(reply.body.prefix(500))")
        #expect(reply.body.utf8.count < 64 * 1024, "\(what): the answer is \(reply.body.utf8.count) bytes")
        // The same document as a dry-run draft is refused the same way.
        let dry = try await server.request(.POST, "/api/test", body: Self.dryRun(draft: yaml), key: server.otherAdmin)
        #expect(dry.status == 422, "\(what) as a draft: \(dry.status) \(dry.body.prefix(300))")
        #expect(try await server.isAlive(), "\(what) took the server down")
        let other = try await server.request(.GET, "/api/config", key: server.defaultAdmin)
        #expect(other.status == 404, "the other workspace is untouched: \(other.body)")
    }

    @Test("100,000 `!` in a dry run's condition is a 422, not a crash")
    func deepNegation() async throws {
        let server = try Server()
        defer { server.stop() }
        let draft = """
            channels: { inbox: { type: inbox } }
            automations: { a: { steps: [ { update-profile: { seen: true } } ] } }
            mappings:
              - on: track/Probe
                when: '\(String(repeating: "!", count: 100_000))true'
                run: a
            """
        let reply = try await server.request(.POST, "/api/test", body: Self.dryRun(draft: draft), key: server.otherAdmin)
        #expect(reply.status == 422, "\(reply.body.prefix(300))")
        #expect(reply.body.contains("line 5, column 112: condition: the expression nests deeper than 100 levels"), "\(reply.body.prefix(400))")
        #expect(try await server.isAlive())
    }

    /// The hostile documents of the review, by kind.
    static func hostile(_ kind: String) -> String {
        switch kind {
        case "condition":
            let deep = String(repeating: "(", count: 30_000) + "data.x == 1" + String(repeating: ")", count: 30_000)
            return "automations: { a: { steps: [ { update-profile: { x: 1 } } ] } }\nmappings:\n  - on: identify\n    when: '\(deep)'\n    run: a\n"
        case "chain":
            let chain = Array(repeating: "data.x == 1", count: 10_000).joined(separator: " && ")
            return "automations: { a: { steps: [ { update-profile: { x: 1 } } ] } }\nmappings:\n  - on: identify\n    when: '\(chain)'\n    run: a\n"
        case "sections":
            let body = String(repeating: "{{#data.x}}", count: 4_000) + "deep" + String(repeating: "{{/data.x}}", count: 4_000)
            return "channels: { inbox: { type: inbox } }\ntemplates:\n  t: { channel: inbox, body: \"\(body)\" }\n"
        case "yaml-depth":
            return "automations: { a: { steps: [ { update-profile: { x: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + " } } ] } }\n"
        case "aliases-7", "aliases-12":
            let levels = kind == "aliases-7" ? 7 : 12
            var lines = ["x: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
            for level in 1...levels {
                let refs = Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
                lines.append("x\(level): &a\(level) [\(refs)]")
            }
            let nested = lines.map { "          " + $0 }.joined(separator: "\n")
            return "automations:\n  a:\n    steps:\n      - update-profile:\n\(nested)\n"
        case "alias-bytes":
            let big = String(repeating: "x", count: 100_000)
            let aliases = Array(repeating: "*big", count: 1_000).joined(separator: ", ")
            return "automations:\n  a:\n    steps:\n      - update-profile:\n          big: &big \"\(big)\"\n          t: [\(aliases)]\n"
        case "size":
            let templates = (0..<3_000).map { "  t\($0): { body: \"\(String(repeating: "x", count: 80))\" }" }.joined(separator: "\n")
            return "templates:\n" + templates + "\n"
        case "timeout":
            return "channels:\n  hook: { type: webhook, url: \"https://receiver.example/\", timeout: 5200w }\n"
        default:
            fatalError("unknown kind \(kind)")
        }
    }
}
