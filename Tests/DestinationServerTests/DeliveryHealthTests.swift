import AsyncHTTPClient
import AutomationEngine
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// A delivery that failed is visible where an operator looks: the start-up lines, the log
/// (at warning, with the reason), the run's state in the API. The real binary, as a newcomer
/// runs it.
@Suite("Delivery health: a failed delivery is not a quiet success", .serialized)
struct DeliveryHealthTests {
    static func configuration(channel: String) -> String {
        """
        channels:
        \(channel)
        templates:
          welcome: { channel: mailer, subject: "Welcome", body: "Hello {{profile.firstName}}" }
        automations:
          welcome-series:
            steps:
              - send: welcome
        mappings:
          - on: identify
            run: welcome-series

        """
    }

    static func key(_ scope: String, in output: String) throws -> String {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("  \(scope) ") })
        return String(try #require(line.split(separator: " ").last))
    }

    static func send(_ path: String, port: Int, key: String, body: String? = nil) async throws -> (status: Int, json: JSONValue?) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 22)
        return (Int(response.status.code), try? JSONParser.parse(String(buffer: bytes)))
    }

    /// Polls `/api/runs` until the first run's message has a final status.
    static func settledRun(port: Int, adminKey: String) async throws -> JSONValue? {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let messages = try await send("/api/messages", port: port, key: adminKey).json?["messages"]?.arrayValue ?? []
            if let status = messages.first?["status"]?.stringValue, status != "queued" {
                return try await send("/api/runs", port: port, key: adminKey).json?["runs"]?.arrayValue?.first
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    @Test("applied from a shell that has the secret, served without it: apply notes nothing, serve names it, the message is undeliverable, logged at warning, and the run is `completed with failures`")
    func secretMissingOnTheServer() async throws {
        let db = try CommandLineTests.database()
        defer { CommandLineTests.remove(db) }
        let config = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("herald.yaml").path
        try Self.configuration(channel: #"  mailer: { type: webhook, url: "https://mailer.example.org/send", secret: "${HERALD_SECRET_DEFAULT_MAILER}" }"#)
            .write(toFile: config, atomically: true, encoding: .utf8)

        // `apply` writes the database: the shell's environment is not the server's, so a
        // secret missing here is a note, not a refusal, and one present here proves nothing.
        let applied = try await ManagementCommandLineTests.herald(["apply", "-f", config, "--db", db], environment: ["HERALD_SECRET_DEFAULT_MAILER": "s3cret"])
        #expect(applied.status == 0, "\(applied.errors)")
        #expect(!applied.errors.contains("note:"))
        let unset = try await ManagementCommandLineTests.herald(["apply", "-f", config, "--db", db])
        #expect(unset.status == 0)
        #expect(unset.errors.contains("note: \(config):2:"), "\(unset.errors)")
        #expect(unset.errors.contains("${HERALD_SECRET_DEFAULT_MAILER} is not set in this shell"))

        let server = try HeraldProcess(database: db)  // without HERALD_SECRET_DEFAULT_MAILER
        defer { _ = server.terminate() }
        #expect(server.output.contains("Warning: version 1 of workspace default names secrets this server's environment does not give it: ${HERALD_SECRET_DEFAULT_MAILER} (line 2)"), "\(server.output)")
        let ingestKey = try Self.key("ingest", in: server.output)
        let adminKey = try Self.key("admin", in: server.output)
        var post = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/v1/identify")
        post.method = .POST
        post.headers.add(name: "Authorization", value: "Basic " + Data("\(ingestKey):".utf8).base64EncodedString())
        post.body = .bytes(ByteBuffer(string: #"{"userId": "ada", "traits": {"firstName": "Ada", "email": "ada@example.org"}}"#))
        #expect(try await HTTPClient.shared.execute(post, timeout: .seconds(10)).status.code == 200)

        let run = try #require(try await Self.settledRun(port: server.port, adminKey: adminKey))
        #expect(run["state"]?.stringValue == "completed")
        #expect(run["stateDescription"]?.stringValue == "completed with failures")
        #expect(run["failedMessages"]?.numberValue?.int64Value == 1)
        #expect(run["eventName"]?.stringValue == "identify")
        let messages = try await Self.send("/api/messages", port: server.port, key: adminKey).json?["messages"]?.arrayValue ?? []
        #expect(messages.first?["status"]?.stringValue == "undeliverable")

        // The log says it at warning, with the reason (the server runs at --log-level warning).
        let deadline = ContinuousClock.now + .seconds(10)
        while !server.log.contains("message undeliverable") && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        let line = server.log.split(separator: "\n").first { $0.contains("message undeliverable") }.map(String.init) ?? ""
        #expect(line.contains("warning"), "\(server.log)")
        #expect(line.contains("HERALD_SECRET_DEFAULT_MAILER} is not set in the server's environment"), "\(line)")
    }

    @Test("apply --url goes through the running server, which checks the secrets against its own environment and names the missing one")
    func applyThroughTheServer() async throws {
        let db = try CommandLineTests.database()
        defer { CommandLineTests.remove(db) }
        let config = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("herald.yaml").path
        try Self.configuration(channel: #"  mailer: { type: webhook, url: "https://mailer.example.org/send", secret: "${HERALD_SECRET_DEFAULT_MAILER}" }"#)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let server = try HeraldProcess(database: db)
        defer { _ = server.terminate() }
        let adminKey = try Self.key("admin", in: server.output)
        let url = "http://127.0.0.1:\(server.port)"
        // The shell has the secret; the server does not: the server's answer counts.
        let refused = try await ManagementCommandLineTests.herald(
            ["apply", "-f", config, "--url", url, "--key", adminKey], environment: ["HERALD_SECRET_DEFAULT_MAILER": "s3cret"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("\(config):2:"), "\(refused.output)")
        #expect(refused.output.contains("the secret HERALD_SECRET_DEFAULT_MAILER is not set in the server's environment"))

        try Self.configuration(channel: "  mailer: { type: log }").write(toFile: config, atomically: true, encoding: .utf8)
        let accepted = try await ManagementCommandLineTests.herald(["apply", config, "--url", url, "--key", adminKey])
        #expect(accepted.status == 0, "\(accepted.errors)")
        #expect(accepted.output.contains("Applied \(config) through \(url) as version 1."), "\(accepted.output)")
    }
}
