import AsyncHTTPClient
import AutomationEngine
import Crypto
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// The sample configuration (Fixtures/herald.yaml) end to end in a real `herald serve` child
/// process: ingest over HTTP, the engine, webhook delivery to a real receiver, inbox and log
/// channels, read back through the management API, and a restart in the middle of a delay.
/// (Delays of minutes or days are covered under a test clock in RunWorkerTests.)
@Suite("The sample configuration, end to end in a herald serve process", .serialized)
struct SampleConfigurationEndToEndTests {
    struct Server {
        let base: String
        let ingestKey: String
        let adminKey: String

        func send(_ json: String) async throws -> Int {
            var request = HTTPClientRequest(url: base + "/inbound/segment")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(ingestKey):".utf8).base64EncodedString())
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
            return Int(try await HTTPClient.shared.execute(request, timeout: .seconds(30)).status.code)
        }

        func api(_ path: String) async throws -> JSONValue {
            var request = HTTPClientRequest(url: base + path)
            request.headers.add(name: "Authorization", value: "Bearer \(adminKey)")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return try JSONParser.parse(Array(buffer: try await response.body.collect(upTo: 8 << 20)))
        }

        /// The explain trace of the event with this messageId, once the engine processed it.
        func explain(_ messageId: String) async throws -> JSONValue? {
            for _ in 0..<200 {
                if let explain = try await api("/api/events?messageId=\(messageId)")["events"]?[0]?["explain"], explain != .null { return explain }
                try await Task.sleep(for: .milliseconds(50))
            }
            return nil
        }
    }

    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<200 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    static func track(_ event: String, user: String, id: String, properties: String, traits: String = "{}") -> String {
        #"{"type":"track","event":"\#(event)","userId":"\#(user)","messageId":"\#(id)","properties":\#(properties),"context":{"traits":\#(traits)}}"#
    }

    @Test("welcome once per user, conditions true and false, cancel before and after a run starts, to:, and a restart mid-delay fires once")
    func sampleConfiguration() async throws {
        let receiver = WebhookReceiver(answers: [200])
        try await receiver.run { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sample-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = directory.appendingPathComponent("herald.sqlite").path
            let config = directory.appendingPathComponent("herald.yaml")
            try FixtureFiles.text("herald.yaml").replacingOccurrences(of: "https://mailer.internal/send", with: "http://127.0.0.1:\(port)/hook")
                .write(to: config, atomically: true, encoding: .utf8)
            let environment = ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "sample-secret"]
            func key(_ scope: String) throws -> String {
                try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", scope, "--db", database]).output.split(separator: "\n").last.map(String.init))
            }
            let ingestKey = try key("ingest")
            let adminKey = try key("admin")
            var process = try HeraldProcess(database: database, extraArguments: ["--config", config.path, "--allow-destination", "127.0.0.1"], environment: environment)
            var server = Server(base: "http://127.0.0.1:\(process.port)", ingestKey: ingestKey, adminKey: adminKey)

            // identify → the welcome series sends the welcome email (webhook), signed; a second identify does not resend.
            let traits = #"{"first_name":"Ada","plan":"free","company":{"name":"Initech"}}"#
            #expect(try await server.send(#"{"type":"identify","userId":"u-1","messageId":"id-1","traits":\#(traits)}"#) == 200)
            #expect(try await Self.eventually { receiver.deliveries.count == 1 })
            let welcome = try #require(receiver.deliveries.first)
            let body = try JSONParser.parse(welcome.body)
            #expect(body["subject"] == "Welcome, Ada!")
            let signature = try #require(welcome.signature)
            let parts = Dictionary(uniqueKeysWithValues: signature.split(separator: ",").map { part in
                let pair = part.split(separator: "=", maxSplits: 1)
                return (String(pair[0]), String(pair[1]))
            })
            let mac = HMAC<SHA256>.authenticationCode(for: Array("\(try #require(parts["t"])).".utf8) + welcome.body, using: SymmetricKey(data: Data("sample-secret".utf8)))
            #expect(parts["v1"] == mac.map { String(format: "%02x", $0) }.joined())
            #expect(try await server.send(#"{"type":"identify","userId":"u-1","messageId":"id-2","traits":{"plan":"free"}}"#) == 200)
            let again = try await server.explain("id-2")
            #expect(again?["mappings"]?[0]?["result"]?.stringValue?.hasPrefix("once_per user: already ran on") == true)
            #expect(receiver.deliveries.count == 1)

            // A true condition starts the order confirmation (waiting 10 minutes); a false one is explained.
            #expect(try await server.send(Self.track("Order Completed", user: "u-1", id: "o-1", properties: #"{"order_id":"o-1","revenue":20,"currency":"usd"}"#)) == 200)
            #expect(try await server.explain("o-1")?["mappings"]?[0]?["value"] == true)
            #expect(try await server.send(Self.track("Order Completed", user: "u-1", id: "o-2", properties: #"{"order_id":"o-2","revenue":20,"currency":"eur"}"#)) == 200)
            #expect(try await server.explain("o-2")?["mappings"]?[0]?["result"]?.stringValue?.contains(#"data.currency = "eur""#) == true)
            let pending = try await server.api("/api/runs?automation=order-confirmation&state=pending")["runs"]?.arrayValue ?? []
            #expect(pending.count == 1)
            #expect(pending.first?["token"] == "order-o-1")

            // Cancel after the run started: the refund cancels it.
            #expect(try await server.send(Self.track("Order Refunded", user: "u-1", id: "r-1", properties: #"{"order_id":"o-1"}"#)) == 200)
            #expect(try await server.explain("r-1")?["mappings"]?[0]?["result"] == #"cancelled 1 pending run(s) with token "order-o-1""#)
            // Cancel before: a refund for o-3 arrives first; the order created just after is born cancelled.
            #expect(try await server.send(Self.track("Order Refunded", user: "u-1", id: "r-3", properties: #"{"order_id":"o-3"}"#)) == 200)
            #expect(try await server.send(Self.track("Order Completed", user: "u-1", id: "o-3", properties: #"{"order_id":"o-3","revenue":5,"currency":"usd"}"#)) == 200)
            #expect(try await server.explain("o-3")?["mappings"]?[0]?["result"]?.stringValue?.contains("was created cancelled") == true)
            #expect(try await server.api("/api/runs?automation=order-confirmation&state=pending")["runs"] == [])

            // `to:` notifies the submitter's manager in the manager's inbox.
            #expect(try await server.send(#"{"type":"identify","userId":"boss","messageId":"id-boss","traits":{"first_name":"Grace"}}"#) == 200)
            #expect(try await server.send(Self.track("Expense Submitted", user: "u-1", id: "e-1", properties: #"{"manager_id":"boss","amount":"$40","description":"Taxi"}"#)) == 200)
            #expect(try await Self.eventually { try await server.api("/api/inbox/boss")["messages"]?.arrayValue?.count == 1 })
            #expect(try await server.api("/api/inbox/boss")["messages"]?[0]?["subject"] == "Grace, an expense of $40 needs your review")

            // Restart in the middle of a delay: the trial reminder waits until remind_at; the server
            // stops before then and starts again after, and the overdue step fires exactly once.
            let remindAt = Timestamp(Date().addingTimeInterval(3)).iso8601
            #expect(try await server.send(Self.track(
                "Trial Started", user: "u-1", id: "t-1", properties: #"{"remind_at":"\#(remindAt)","trial_ends_at":"2026-12-01"}"#, traits: #"{"plan":"trial"}"#)) == 200)
            #expect(try await Self.eventually {
                try await server.api("/api/runs?automation=trial-reminder")["runs"]?[0]?["nextStep"] == 1
            })
            #expect(process.terminate() == 0)
            try await Task.sleep(for: .seconds(4))
            process = try HeraldProcess(database: database, extraArguments: ["--config", config.path, "--allow-destination", "127.0.0.1"], environment: environment)
            server = Server(base: "http://127.0.0.1:\(process.port)", ingestKey: ingestKey, adminKey: adminKey)
            #expect(try await Self.eventually {
                try await server.api("/api/messages?channel=console")["messages"]?.arrayValue?.count == 1
            })
            let reminder = try await server.api("/api/messages?channel=console")["messages"]?[0]
            #expect(reminder?["body"] == "Your trial ends on 2026-12-01.")
            #expect(reminder?["status"] == "sent")
            #expect(process.terminate() == 0)
            process = try HeraldProcess(database: database, extraArguments: ["--config", config.path, "--allow-destination", "127.0.0.1"], environment: environment)
            server = Server(base: "http://127.0.0.1:\(process.port)", ingestKey: ingestKey, adminKey: adminKey)
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await server.api("/api/messages?channel=console")["messages"]?.arrayValue?.count == 1)
            #expect(try await server.api("/api/runs?automation=trial-reminder")["runs"]?[0]?["state"] == "completed")
            // One welcome each for Ada and Grace (the manager identified above); the restarts resent nothing.
            let subjects = receiver.deliveries.compactMap { try? JSONParser.parse($0.body)["subject"]?.stringValue }
            #expect(subjects == ["Welcome, Ada!", "Welcome, Grace!"])
            #expect(Set(receiver.deliveries.compactMap(\.idempotencyKey)).count == 2)
            #expect(process.terminate() == 0)
        }
    }

    @Test("the sample's notification controls: a digest of 3 comments, wait_for (arrives, twice, another user's), a throttle, a send window in the recipient's time zone")
    func notificationControls() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-sample-controls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("herald.sqlite").path
        let config = directory.appendingPathComponent("herald.yaml")
        try FixtureFiles.text("herald.yaml").write(to: config, atomically: true, encoding: .utf8)
        let environment = ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "sample-secret"]
        func key(_ scope: String) throws -> String {
            try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", scope, "--db", database]).output.split(separator: "\n").last.map(String.init))
        }
        let ingestKey = try key("ingest")
        let adminKey = try key("admin")
        let process = try HeraldProcess(database: database, extraArguments: ["--config", config.path], environment: environment)
        let server = Server(base: "http://127.0.0.1:\(process.port)", ingestKey: ingestKey, adminKey: adminKey)
        // The subjects of the messages sent to the user's inbox (a skipped one is listed there too, with its status).
        func inbox(_ user: String) async throws -> [String] {
            try await server.api("/api/inbox/\(user)")["messages"]?.arrayValue?.filter { $0["status"] != "skipped" }.compactMap { $0["subject"]?.stringValue } ?? []
        }

        // Three comments on one thread fill the digest (max_items 3): one message, sent at once.
        for n in 1...3 {
            #expect(try await server.send(Self.track("Comment Added", user: "c-1", id: "c-\(n)", properties: #"{"thread_id":"t-1","author":"Ann","text":"n\#(n)"}"#)) == 200)
        }
        #expect(try await server.explain("c-2")?["mappings"]?[0]?["result"]?.stringValue?.hasPrefix("added to digest run") == true)
        #expect(try await server.explain("c-3")?["mappings"]?[0]?["result"]?.stringValue?.hasSuffix("3 items so far; max_items (3) reached: the digest goes out now") == true)
        #expect(try await Self.eventually { try await inbox("c-1") == ["3 new comments on t-1"] })
        #expect(try await server.api("/api/inbox/c-1")["messages"]?[0]?["body"] == "Ann: n1\nAnn: n2\nAnn: n3\n")

        // wait_for: another user's payment is ignored; the buyer's continues the run once, however often it comes.
        #expect(try await server.send(Self.track("Order Placed", user: "b-1", id: "p-1", properties: #"{"order_id":"o-7"}"#)) == 200)
        // The newest run of the follow-up has reached its wait_for step.
        func newestRunWaits() async throws -> Bool {
            try await Self.eventually {
                guard let id = try await server.api("/api/runs?automation=payment-follow-up")["runs"]?[0]?["id"]?.numberValue?.int64Value else { return false }
                return try await server.api("/api/runs/\(id)")["steps"]?[0]?["outcome"]?.stringValue?.hasPrefix("waiting for track/Order Paid") == true
            }
        }
        #expect(try await newestRunWaits())
        #expect(try await server.send(Self.track("Order Paid", user: "someone-else", id: "pay-0", properties: #"{"order_id":"o-7"}"#)) == 200)
        #expect(try await server.send(Self.track("Order Paid", user: "b-1", id: "pay-1", properties: #"{"order_id":"o-7"}"#)) == 200)
        #expect(try await server.explain("pay-1")?["effects"]?.arrayValue?.contains { $0.stringValue?.hasPrefix("continued run") == true } == true)
        #expect(try await server.send(Self.track("Order Paid", user: "b-1", id: "pay-2", properties: #"{"order_id":"o-7"}"#)) == 200)
        #expect(try await Self.eventually { try await inbox("b-1") == ["Payment received for order o-7"] })
        // The throttle (1 per day per order): placing o-7 again starts a run whose send is skipped.
        #expect(try await server.send(Self.track("Order Placed", user: "b-1", id: "p-2", properties: #"{"order_id":"o-7"}"#)) == 200)
        #expect(try await Self.eventually { try await server.api("/api/runs?automation=payment-follow-up")["runs"]?.arrayValue?.count == 2 })
        #expect(try await newestRunWaits())
        #expect(try await server.send(Self.track("Order Paid", user: "b-1", id: "pay-3", properties: #"{"order_id":"o-7"}"#)) == 200)
        #expect(try await Self.eventually {
            try await server.api("/api/messages?status=skipped")["messages"]?[0]?["history"]?.arrayValue?.last?["reason"]
                == #"throttle 1 per 1d of `payment-follow-up` for key "o-7" reached"#
        })
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await inbox("b-1") == ["Payment received for order o-7"])
        #expect(try await inbox("someone-else").isEmpty)

        // The shipping update's window (mon-fri 08:00-20:00) in a time zone where it is closed now: deferred, not sent.
        let window = try #require(try ConfigurationLoader.load(yaml: FixtureFiles.text("herald.yaml"), secrets: .none, requireSecrets: false)
            .templates.first { $0.name == "shipping-update" }?.sendWindow)
        let zone = try #require(TimeZone.knownTimeZoneIdentifiers.first { name in
            TimeZone(identifier: name).map { window.nextOpening(after: Date().addingTimeInterval(120), in: $0) != nil } == true
                && TimeZone(identifier: name).map { window.nextOpening(after: Date(), in: $0) != nil } == true
        })
        let shipped = #"{"type":"track","event":"Order Shipped","userId":"s-1","messageId":"ship-1","properties":{"order_id":"o-8"},"context":{"timezone":"\#(zone)"}}"#
        #expect(try await server.send(shipped) == 200)
        #expect(try await Self.eventually {
            try await server.explain("ship-1")?["effects"]?.arrayValue?.contains {
                $0.stringValue?.contains("\(zone) by the send window of template `shipping-update`") == true
            } == true
        })
        #expect(try await inbox("s-1").isEmpty)
        #expect(try await server.api("/api/runs?automation=shipping-update")["runs"]?[0]?["state"] == "pending")
        // Metrics count skips and deferrals by reason, and digest memberships.
        var request = HTTPClientRequest(url: server.base + "/metrics")
        request.method = .GET
        let metrics = String(buffer: try await HTTPClient.shared.execute(request, timeout: .seconds(30)).body.collect(upTo: 8 << 20))
        #expect(metrics.contains(#"herald_messages_skipped_total{reason="throttle"} 1"#))
        #expect(metrics.contains(#"herald_messages_deferred_total{reason="send_window"} 1"#))
        #expect(metrics.contains(#"herald_digest_items_joined_total{automation="comment-digest"} 2"#))
        #expect(process.terminate() == 0)
    }
}
