import AsyncHTTPClient
import AutomationEngine
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// Email through a real SMTP server (Debian's aiosmtpd, `scripts/smtp-test-server.py`) on
/// loopback, with STARTTLS and AUTH required, through ingest, the engine and the delivery service.
@Suite("Email over SMTP: a real server with STARTTLS and AUTH", .serialized)
struct EmailDeliveryTests {
    static func configuration(port: Int, password: String = "s3cret pass", concurrency: Int = 4) -> String {
        """
        channels:
          email:
            type: smtp
            host: localhost
            port: \(port)
            tls: starttls
            username: herald
            password: "\(password)"
            from: "Herald Café <noreply@herald.test>"
            reply_to: support@herald.test
            concurrency: \(concurrency)
        templates:
          shipped:
            channel: email
            subject: "Ihre Bestellung {{data.order}} ist unterwegs – Grüße aus Köln ✓"
            body: "Hallo {{profile.name}},\\n.\\n.a line that starts with a dot\\nDanke!"
            html: "<p>Hallo <b>{{profile.name}}</b>, Bestellung {{data.order}} ✓</p>"
        automations:
          shipping: { steps: [ { send: shipped } ] }
        mappings:
          - on: track/Order Shipped
            run: shipping
        """
    }

    /// A delivery service over a fresh store in which each of `users` (`[userId: email or nil]`)
    /// was identified and then shipped `orders` orders; the transport trusts the server's certificate.
    static func prepare(
        server: SMTPTestServer, users: [(String, String?)], orders: Int = 1, clock: TestClock, allowLoopback: Bool = true,
        password: String = "s3cret pass", concurrency: Int = 4
    ) async throws -> (HeraldStore, DeliveryService) {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        try await store.applyConfiguration(
            yaml: configuration(port: server.port, password: password, concurrency: concurrency), workspace: "default", secrets: .none)
        let writer = GroupCommitWriter(store: store)
        Task { try await writer.run() }
        var events: [IngestEvent] = []
        for (user, email) in users {
            let traits = email.map { #"{"name":"Änne","email":"\#($0)"}"# } ?? #"{"name":"Änne"}"#
            var jsons = [#"{"type":"identify","userId":"\#(user)","traits":\#(traits)}"#]
            for order in 0..<orders { jsons.append(#"{"type":"track","event":"Order Shipped","userId":"\#(user)","properties":{"order":"A-\#(order)"}}"#) }
            for json in jsons {
                let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
                events.append(IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: clock.now))
            }
        }
        _ = try await writer.append(events, keyHash: key.secret.hash)
        writer.close()
        try await EventProcessor(store: store, now: { clock.now }).processPending()
        try await RunWorker(store: store, now: { clock.now }).executeDue()
        let policy = allowLoopback ? try OutboundDestinationPolicy(allowing: ["localhost"]) : OutboundDestinationPolicy()
        let transport = SMTPTransport(policy: policy, trustRootsFile: server.certificateFile)
        let channels = ChannelDirectory.standard(outbound: WebhookDeliveryTests.outbound, smtp: transport)
        return (store, DeliveryService(store: store, channels: channels, now: { clock.now }))
    }

    static func start() -> TestClock { TestClock(start: Timestamp(millisecondsSince1970: 1_795_000_000_000)) }

    @Test("the mail arrives with its headers, a text and an HTML part, a UTF-8 subject, over STARTTLS and AUTH")
    func mailArrives() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(server: server, users: [("u-ann", "ann@example.com")], clock: clock)
        #expect(try await deliverer.deliverDue() == 1)
        let message = try #require(try await store.messages(workspace: "default").first)
        let log = server.output
        #expect(message.status == .sent, "\(log)")
        #expect(message.history.last?.reason == "SMTP 250 2.0.0 Ok: queued as 1")
        let mail = try #require(try await server.waitForMessages(1).first)
        #expect(mail.envelope["mail_from"] == "noreply@herald.test")
        #expect(mail.envelope["rcpt_tos"] == .array(["ann@example.com"]))
        #expect(ReceivedMail.decodeWords(try #require(mail.header("Subject"))) == "Ihre Bestellung A-0 ist unterwegs – Grüße aus Köln ✓")
        #expect(mail.header("Subject")?.hasPrefix("=?UTF-8?B?") == true)
        #expect(ReceivedMail.decodeWords(try #require(mail.header("From"))) == "Herald Café <noreply@herald.test>")
        #expect(mail.header("To") == "ann@example.com")
        #expect(mail.header("Reply-To") == "support@herald.test")
        #expect(mail.header("Message-ID") == "<herald.default.\(message.id)@herald.test>")
        #expect(mail.header("Date") == "Wed, 18 Nov 2026 11:06:40 +0000")  // when the message was written
        #expect(mail.header("MIME-Version") == "1.0")
        #expect(mail.header("Content-Type")?.hasPrefix("multipart/alternative; boundary=") == true)
        #expect(mail.part("text/plain") == "Hallo Änne,\r\n.\r\n.a line that starts with a dot\r\nDanke!")
        #expect(mail.part("text/html") == "<p>Hallo <b>Änne</b>, Bestellung A-0 ✓</p>")
    }

    @Test("a 451 after the data is retried with backoff; the retry is the same message and is accepted")
    func transientFailureRetried() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(server: server, users: [("u-bob", "flaky-bob@example.com")], clock: clock)
        #expect(try await deliverer.deliverDue() == 1)
        var message = try #require(try await store.messages(workspace: "default").first)
        #expect(message.status == .queued)
        let reason = message.history.last?.reason ?? ""
        #expect(reason.hasPrefix("attempt 1 failed: the message data was refused: 451 4.3.0 Temporary local problem, try again later; next attempt at"))
        #expect(server.messages().isEmpty)
        #expect(try await deliverer.deliverDue() == 0)  // backoff
        clock.advance(.seconds(2))
        #expect(try await deliverer.deliverDue() == 1)
        message = try #require(try await store.messages(workspace: "default").first)
        #expect(message.status == .sent)
        // The server defers each Message-ID once: accepting the second attempt means it carried the same one.
        #expect(try await server.waitForMessages(1).count == 1)
    }

    @Test("a 550 is undeliverable at once, with the server's reply in the history")
    func permanentFailure() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(server: server, users: [("u-carl", "reject-carl@example.com")], clock: clock)
        #expect(try await deliverer.deliverDue() == 1)
        clock.advance(.seconds(3600))
        #expect(try await deliverer.deliverDue() == 0)
        let message = try #require(try await store.messages(workspace: "default").first)
        #expect(message.status == .undeliverable)
        #expect(message.history.last?.reason == "RCPT TO was refused: 550 5.1.1 <reject-carl@example.com>: mailbox unavailable")
        #expect(server.messages().isEmpty)
    }

    @Test("a profile without an email address is unroutable when the step runs; nothing is sent")
    func noAddressIsUnroutable() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(server: server, users: [("u-dora", nil)], clock: clock)
        #expect(try await deliverer.deliverDue() == 0)
        let message = try #require(try await store.messages(workspace: "default").first)
        #expect(message.status == .unroutable)
        #expect(message.history.last?.reason == "no email address: profile `u-dora` has no valid `email` trait and the send's `to:` is not an address")
        let steps = try await store.runHistory(runId: message.runId)
        #expect(steps.contains { $0.outcome.hasPrefix("message \(message.id) unroutable: no email address") })
        #expect(server.messages().isEmpty)
    }

    @Test("consecutive messages reuse one signed-in connection")
    func connectionReused() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(
            server: server, users: [("u-ann", "ann@example.com")], orders: 5, clock: clock, concurrency: 1)
        var attempted = 0
        // One at a time (`concurrency: 1`): the others wait 50 ms on the test's clock each round.
        for _ in 0..<20 where attempted < 5 {
            attempted += try await deliverer.deliverDue()
            clock.advance(.milliseconds(100))
        }
        #expect(attempted == 5)
        #expect(try await store.messageCount(workspace: "default", status: .sent) == 5)
        let mails = try await server.waitForMessages(5)
        #expect(mails.count == 5)
        #expect(Set(mails.compactMap { $0.envelope["session"] }) == [1])
    }

    @Test("a mail server on loopback is refused without the operator's allow-destination; no connection is made")
    func loopbackRefused() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(server: server, users: [("u-ann", "ann@example.com")], clock: clock, allowLoopback: false)
        #expect(try await deliverer.deliverDue() == 1)
        let message = try #require(try await store.messages(workspace: "default").first)
        #expect(message.status == .undeliverable)
        #expect(message.history.last?.reason == "mail server localhost resolves to a loopback address; allow it with --allow-destination")
        #expect(server.messages().isEmpty)
    }

    @Test("a wrong password is undeliverable with the server's 535")
    func wrongPassword() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let clock = Self.start()
        let (store, deliverer) = try await Self.prepare(
            server: server, users: [("u-ann", "ann@example.com")], clock: clock, password: "not it")
        #expect(try await deliverer.deliverDue() == 1)
        let message = try #require(try await store.messages(workspace: "default").first)
        #expect(message.status == .undeliverable)
        #expect(message.history.last?.reason?.hasPrefix("AUTH was answered 535") == true)
    }

    @Test("herald serve: the password comes from the workspace's HERALD_SECRET_ variable; the mail goes out through the live server")
    func liveServerWithSecret() async throws {
        let server = try SMTPTestServer(password: "from the environment")
        defer { server.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-email-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("herald.sqlite").path
        let config = directory.appendingPathComponent("herald.yaml")
        try Self.configuration(port: server.port, password: "${HERALD_SECRET_DEFAULT_SMTP_PASSWORD}").write(to: config, atomically: true, encoding: .utf8)
        let environment = ["HERALD_SECRET_DEFAULT_SMTP_PASSWORD": "from the environment"]
        let key = try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", "ingest", "--db", database]).output.split(separator: "\n").last.map(String.init))
        let herald = try HeraldProcess(
            database: database, extraArguments: ["--config", config.path, "--allow-destination", "localhost", "--smtp-ca-file", server.certificateFile],
            environment: environment)
        for body in [#"{"userId":"u-eve","traits":{"name":"Eve","email":"eve@example.com"}}"#, #"{"event":"Order Shipped","userId":"u-eve","properties":{"order":"B-7"}}"#] {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(herald.port)/v1/\(body.contains("event") ? "track" : "identify")")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            request.body = .bytes(ByteBuffer(string: body))
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 200)
        }
        let mails = try await server.waitForMessages(1, timeout: .seconds(30))
        let output = herald.output + server.output
        #expect(mails.count == 1, "\(output)")
        #expect(mails.first?.part("text/plain")?.hasPrefix("Hallo Eve,") == true)
        #expect(herald.terminate() == 0)
    }
}
