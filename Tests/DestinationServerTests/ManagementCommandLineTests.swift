import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `herald test`, `export`, `send-test` and `events tail`: the real binary against a real
/// database and a live server.
@Suite("The herald management commands", .serialized)
struct ManagementCommandLineTests {
    /// A finished `herald` run.
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    /// `herald <arguments>` as a child process, its output going to files so a long-running
    /// command (`events tail`) can be started, then awaited.
    final class Child {
        let process: ChildProcess
        let directory: URL

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-cli-out-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            for name in ["stdout", "stderr"] {
                _ = FileManager.default.createFile(atPath: directory.appendingPathComponent(name).path, contents: nil)
            }
            process = try ChildProcess(
                HeraldProcess.executable.path, arguments,
                environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
                standardOutput: .file(directory.appendingPathComponent("stdout").path),
                standardError: .file(directory.appendingPathComponent("stderr").path))
        }

        var output: String { (try? String(contentsOf: directory.appendingPathComponent("stdout"), encoding: .utf8)) ?? "" }
        var errors: String { (try? String(contentsOf: directory.appendingPathComponent("stderr"), encoding: .utf8)) ?? "" }

        /// Waits (without blocking a thread) up to `timeout` for the process to end.
        func finish(timeout: Duration = .seconds(60)) async throws -> Outcome {
            let deadline = ContinuousClock.now + timeout
            while process.isRunning {
                if ContinuousClock.now > deadline {
                    process.terminate()
                    Issue.record("herald \(process.commandLine.dropFirst()) did not finish within \(timeout); output so far: \(output) \(errors)")
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return Outcome(status: process.terminationStatus, output: output, errors: errors)
        }

        deinit {
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(at: directory)
        }
    }

    static func herald(_ arguments: [String], environment: [String: String] = [:]) async throws -> Outcome {
        try await Child(arguments, environment: environment).finish()
    }

    /// A fresh temporary folder.
    static func folder() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static var configurationPath: String { FixtureFiles.directory.appendingPathComponent("herald.yaml").path }

    static func write(_ text: String, _ name: String, in directory: URL) throws -> String {
        let url = directory.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static let identify = """
        {"type": "identify", "userId": "ada", "traits": {"firstName": "Ada", "email": "ada@example.org", "company": {"name": "Initech"}}}
        """
    static let freeOrder = """
        {"type": "track", "event": "Order Completed", "userId": "ada", "properties": {"order_id": "o-1", "revenue": 0, "currency": "usd"}}
        """

    // MARK: herald test

    @Test("test: an identify shows the mapping, the welcome-series run step by step and the rendered welcome message")
    func dryRunIdentify() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let event = try Self.write(Self.identify, "identify.json", in: directory)
        // No HERALD_SECRET_DEFAULT_EMAIL_HOOK needed: a dry run does not require ${ENV} values.
        let result = try await Self.herald(["test", Self.configurationPath, "--event", event])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("name:        identify"))
        #expect(result.output.contains("userId:      ada"))
        #expect(result.output.contains("on identify"))
        #expect(result.output.contains("result: started run"))
        #expect(result.output.contains("welcome-series for ada: starts pending, ends completed"))
        #expect(result.output.contains("message: template welcome via email (webhook) to ada"))
        #expect(result.output.contains("subject: Welcome, Ada!"))
        #expect(result.output.contains("body:    Thanks for joining Initech."))
        #expect(result.output.contains("step 1 at"))  // the delay, on the simulated clock
        // The exact request the mailer would get.
        #expect(result.output.contains("    webhook request of run-"))
        #expect(result.output.contains("      POST https://mailer.internal/send\n"))
        #expect(result.output.contains("      Idempotency-Key: run-"))
        #expect(result.output.contains("      Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>\n"))
        #expect(result.output.contains("\"recipient\": {"))

        let json = try await Self.herald(["test", Self.configurationPath, "--event", event, "--json"])
        #expect(json.status == 0)
        let report = try JSONParser.parse(json.output)
        #expect(report["draft"] == .bool(true))
        #expect(report["event"]?["name"]?.stringValue == "identify")
        let run = try #require(report["runs"]?.arrayValue?.first)
        #expect(run["automation"]?.stringValue == "welcome-series")
        #expect(run["endState"]?.stringValue == "completed")
        let message = try #require(run["messages"]?.arrayValue?.first)
        #expect(message["template"]?.stringValue == "welcome")
        let request = try #require(run["webhookRequests"]?.arrayValue?.first)
        #expect(request["url"]?.stringValue == "https://mailer.internal/send")
        #expect(request["body"]?["subject"]?.stringValue == "Welcome, Ada!")
        #expect(request["body"]?["recipient"]?["profile"]?["email"]?.stringValue == "ada@example.org")
        #expect(request["body"]?["template"]?.stringValue == "welcome")
        #expect(message["subject"]?.stringValue == "Welcome, Ada!")
        #expect(report["explain"]?["mappings"]?.arrayValue?.first?["result"]?.stringValue?.hasPrefix("started run") == true)
    }

    @Test("test: a track whose condition is false shows the condition, the values it saw and that nothing runs")
    func dryRunConditionFalse() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let event = try Self.write(Self.freeOrder, "order.json", in: directory)
        let result = try await Self.herald(["test", Self.configurationPath, "--event", event])
        #expect(result.status == 0, "\(result.errors)")
        #expect(result.output.contains("on track/Order Completed"))
        #expect(result.output.contains("when:   data.revenue > 0 && data.currency == \"usd\""))
        #expect(result.output.contains("value:  false"))
        #expect(result.output.contains("saw:    data.revenue = 0"))
        #expect(result.output.contains("was false"))
        #expect(result.output.contains("Runs: none would start"))

        let json = try await Self.herald(["test", Self.configurationPath, "--event", event, "--json"])
        let mapping = try #require(try JSONParser.parse(json.output)["explain"]?["mappings"]?.arrayValue?.first)
        #expect(mapping["value"] == .bool(false))
        #expect(mapping["saw"]?.arrayValue?.contains(.string("data.revenue = 0")) == true)
        #expect(try JSONParser.parse(json.output)["runs"]?.arrayValue?.isEmpty == true)
    }

    @Test("test: missing files, invalid JSON, an event Herald would refuse and an invalid configuration fail on stderr")
    func dryRunErrors() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = try Self.write(Self.identify, "identify.json", in: directory)

        let noEvent = try await Self.herald(["test", Self.configurationPath, "--event", directory.appendingPathComponent("missing.json").path])
        #expect(noEvent.status != 0)
        #expect(noEvent.errors.contains("cannot read event file"))

        let noConfig = try await Self.herald(["test", directory.appendingPathComponent("missing.yaml").path, "--event", good])
        #expect(noConfig.status != 0)
        #expect(noConfig.errors.contains("check the path"))

        let malformed = try await Self.herald(["test", Self.configurationPath, "--event", try Self.write("{\"type\": ", "bad.json", in: directory)])
        #expect(malformed.status != 0)
        #expect(malformed.errors.contains("is not valid JSON"))

        let refused = try await Self.herald(["test", Self.configurationPath, "--event", try Self.write("{\"type\": \"track\", \"userId\": \"u\"}", "refused.json", in: directory)])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("Herald would refuse the event"))

        let badYAML = try Self.write("mappings:\n  - on: identify\n    run: ghost\n", "bad.yaml", in: directory)
        let invalid = try await Self.herald(["test", badYAML, "--event", good])
        #expect(invalid.status != 0)
        #expect(invalid.errors.contains("\(badYAML):3:10: mapping for `identify` runs automation `ghost`"))
        #expect(invalid.output.isEmpty)

        let noDatabase = try await Self.herald(["test", Self.configurationPath, "--event", good, "--db", directory.appendingPathComponent("none.sqlite").path])
        #expect(noDatabase.status != 0)
        #expect(noDatabase.errors.contains("there is no database"))
    }

    @Test("test --db: conditions see the database's history (once_per), and the database is left unchanged")
    func dryRunAgainstDatabase() async throws {
        try await LiveHerald.run { herald in
            try await herald.store.applyConfiguration(yaml: try FixtureFiles.text("herald.yaml"), workspace: "default", secrets: SecretEnvironment(variables: ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "x"]))
            #expect(try await herald.post("/v1/identify", Self.identify, auth: .basic(herald.ingestKey)).status == 200)
            // Wait until the engine has started ada's welcome series.
            let deadline = ContinuousClock.now + .seconds(10)
            var processed = false
            while !processed && ContinuousClock.now < deadline {
                let reply = try await herald.get("/api/events?limit=1", auth: .bearer(herald.adminKey))
                processed = reply.json?["events"]?.arrayValue?.first?["explain"].map { !$0.isNull } ?? false
                if !processed { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(processed)
            let directory = try Self.folder()
            defer { try? FileManager.default.removeItem(at: directory) }
            let event = try Self.write(Self.identify, "identify.json", in: directory)
            let database = try #require(herald.store.path)
            let result = try await Self.herald(["test", Self.configurationPath, "--event", event, "--db", database])
            #expect(result.status == 0, "\(result.errors)")
            #expect(result.output.contains("once_per user: already ran"))
            #expect(result.output.contains("Runs: none would start"))
            let events = try await herald.get("/api/events", auth: .bearer(herald.adminKey)).json?["events"]?.arrayValue
            #expect(events?.count == 1)  // the dry run kept nothing
        }
    }

    // MARK: herald export

    @Test("export prints the YAML `herald apply` stored, writes it with -o, and fails clearly without a configuration")
    func export() async throws {
        let directory = try Self.folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("herald.sqlite").path
        let yaml = try FixtureFiles.text("herald.yaml")

        let empty = try await Self.herald(["keys", "create", "--scope", "admin", "--db", database])
        #expect(empty.status == 0)
        let none = try await Self.herald(["export", "--db", database])
        #expect(none.status != 0)
        #expect(none.errors.contains("workspace default has no configuration"))
        #expect(none.errors.contains("herald apply -f"))

        let applied = try await Self.herald(["apply", "-f", Self.configurationPath, "--db", database], environment: ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "s3cret"])
        #expect(applied.status == 0, "\(applied.output) \(applied.errors)")
        let exported = try await Self.herald(["export", "--db", database])
        #expect(exported.status == 0)
        #expect(exported.output == yaml)
        #expect(exported.output.contains("${HERALD_SECRET_DEFAULT_EMAIL_HOOK}"))  // references are kept, secrets not expanded

        let file = directory.appendingPathComponent("out.yaml").path
        let written = try await Self.herald(["export", "--db", database, "-o", file])
        #expect(written.status == 0)
        #expect(written.output.isEmpty)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == yaml)

        let otherWorkspace = try await Self.herald(["export", "--db", database, "--workspace", "prod"])
        #expect(otherWorkspace.status != 0)
        let missingDatabase = try await Self.herald(["export", "--db", directory.appendingPathComponent("none.sqlite").path])
        #expect(missingDatabase.status != 0)
        #expect(missingDatabase.errors.contains("there is no database"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("none.sqlite").path))
    }

    // MARK: herald send-test

    @Test("send-test gets 200 for all five calls and, with the admin key, shows how Herald read each")
    func sendTest() async throws {
        try await LiveHerald.run { herald in
            let result = try await Self.herald(["send-test", "--url", herald.baseURL, "--key", herald.ingestKey, "--admin-key", herald.adminKey])
            #expect(result.status == 0, "\(result.errors)")
            for type in ["identify", "track", "page", "screen", "group"] {
                #expect(result.output.contains("\(type) segment-test-message-"), "\(type)")
            }
            #expect(result.output.components(separatedBy: "-> HTTP 200").count - 1 == 5, "\(result.output)")
            #expect(result.output.contains("read as track/Segment Test Event Name"))
            #expect(result.output.contains("read as identify"))
            #expect(result.output.contains("data: {\"property1\":1,\"property2\":\"test\",\"property3\":true}"))
            // The Event Tester's identify has the same email at the top level and in traits: no warning.
            #expect(!result.output.contains("email is at the top level"))
            #expect(result.output.contains("Summary: no configuration applied to workspace default"))

            let stored = try await herald.get("/api/events?type=track", auth: .bearer(herald.adminKey)).json?["events"]?.arrayValue
            #expect(stored?.first?["messageId"]?.stringValue?.hasPrefix("segment-test-message-") == true)

            // --key that is itself an admin key is used to read back; --type sends just one.
            let one = try await Self.herald(["send-test", "--url", herald.baseURL, "--key", herald.adminKey, "--type", "track"])
            #expect(one.status == 0)
            #expect(one.output.components(separatedBy: "-> HTTP 200").count - 1 == 1)
            #expect(one.output.contains("read as track/Segment Test Event Name"))

            // An ingest key alone: statuses only, and a hint about --admin-key.
            let ingestOnly = try await Self.herald(["send-test", "--url", herald.baseURL, "--key", herald.ingestKey, "--type", "page"])
            #expect(ingestOnly.status == 0)
            #expect(ingestOnly.output.contains("page segment-test-message-"))
            #expect(!ingestOnly.output.contains("read as"))
            #expect(ingestOnly.output.contains("--admin-key"))

            let refused = try await Self.herald(["send-test", "--url", herald.baseURL, "--key", "hk_notakey", "--type", "track"])
            #expect(refused.status != 0)
            #expect(refused.output.contains("HTTP 401: API key is unknown or revoked"))
        }
    }

    @Test("send-test to a server that is not running says so and exits non-zero")
    func sendTestRefused() async throws {
        // A port that was free a moment ago: bind, note it, close.
        let port = try await LiveHerald.run { herald in herald.port }
        let result = try await Self.herald(["send-test", "--url", "http://127.0.0.1:\(port)", "--key", "hk_x"])
        #expect(result.status != 0)
        #expect(result.errors.contains("is `herald serve` running at http://127.0.0.1:\(port)?"))
    }

    // MARK: herald events tail

    @Test("events tail --limit 2 prints the first two events sent after it started, one line each, then exits 0")
    func eventsTail() async throws {
        try await LiveHerald.run { herald in
            func send(_ userId: String) async throws {
                let event = "{\"type\": \"track\", \"event\": \"Tail Test\", \"userId\": \"\(userId)\", \"properties\": {\"n\": 1}}"
                #expect(try await herald.post("/v1/track", event, auth: .basic(herald.ingestKey)).status == 200)
            }
            try await send("before-tail")
            let tail = try Child(["events", "tail", "--url", herald.baseURL, "--key", herald.adminKey, "--limit", "2", "--interval", "100ms"])
            // Keep sending until it has seen two: it starts from the newest event when it connects.
            var sent = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while tail.process.isRunning && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(300))
                sent += 1
                try await send("tail-user-\(sent)")
            }
            let result = try await tail.finish()
            #expect(result.status == 0, "\(result.errors)")
            var lines = result.output.split(separator: "\n")
            // First the start line, so a quiet tail is known to be connected.
            #expect(lines.first?.hasPrefix("Following events of \(herald.baseURL), after event #") == true, "\(result.output)")
            #expect(lines.first?.hasSuffix("; Ctrl-C stops.") == true)
            lines.removeFirst()
            #expect(lines.count == 2, "\(result.output)")
            for line in lines {
                #expect(line.contains("  track  track/Tail Test  userId=tail-user-"))
                #expect(line.contains("warnings=0"))
                #expect(line.contains("no configuration applied to workspace default"))  // the explain summary
            }
            #expect(!result.output.contains("before-tail"))

            let json = try Child(["events", "tail", "--url", herald.baseURL, "--key", herald.adminKey, "--limit", "1", "--interval", "100ms", "--json", "--name", "track/Tail Test"])
            while json.process.isRunning && ContinuousClock.now < deadline + .seconds(30) {
                try await Task.sleep(for: .milliseconds(300))
                try await send("json-user")
            }
            let jsonResult = try await json.finish()
            #expect(jsonResult.status == 0)
            // With --json, standard output holds only events; the start line goes to standard error.
            #expect(jsonResult.errors.contains("Following events of \(herald.baseURL) (only name track/Tail Test)"), "\(jsonResult.errors)")
            let item = try JSONParser.parse(String(jsonResult.output.split(separator: "\n").first ?? ""))
            #expect(item["name"]?.stringValue == "track/Tail Test")
            #expect(item["userId"]?.stringValue == "json-user")

            let ingest = try await Self.herald(["events", "tail", "--url", herald.baseURL, "--key", herald.ingestKey, "--limit", "1"])
            #expect(ingest.status != 0)
            #expect(ingest.errors.contains("needs an admin key"))
        }
    }

    @Test("events tail stops on Ctrl-C with exit status 0")
    func eventsTailInterrupt() async throws {
        try await LiveHerald.run { herald in
            let tail = try Child(["events", "tail", "--url", herald.baseURL, "--key", herald.adminKey, "--interval", "100ms"])
            try await Task.sleep(for: .seconds(1))
            #expect(tail.process.isRunning)
            tail.process.send(SIGINT)
            let result = try await tail.finish(timeout: .seconds(10))
            #expect(result.status == 0)
            #expect(result.output.hasPrefix("Following events of \(herald.baseURL), none received yet; Ctrl-C stops.\n"), "\(result.output)")
            #expect(tail.process.termination == .exit(0))  // it exited on SIGINT, not killed by it
        }
    }
}
