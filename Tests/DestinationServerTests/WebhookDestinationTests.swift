import AutomationEngine
import DestinationServer
import Foundation
import Testing

/// Issue 15 (webhook SSRF), through the real server: a workspace admin's webhook URL cannot
/// reach the server's own network, and a redirect cannot send a signed body elsewhere.
@Suite("Webhook destinations: internal addresses refused unless the operator allows them, redirects not followed", .serialized)
struct WebhookDestinationTests {
    static func configuration(url: String) -> String {
        """
        channels:
          hook: { type: webhook, url: "\(url)", secret: "topsecret", timeout: 2s }
        templates:
          ping: { channel: hook, body: "ping" }
        automations:
          pinger: { steps: [ { send: ping } ] }
        mappings:
          - on: track/Ping
            run: pinger
        """
    }

    /// Applies a configuration whose webhook goes to `url`, sends one `track/Ping`, and
    /// returns its message once it has left `sent` (or after 10 s).
    static func send(to url: String, through herald: LiveHerald) async throws -> MessageRecord {
        try await herald.applyConfiguration(configuration(url: url))
        try await herald.ingest(ManagementPayloads.track("Ping", user: "u-1", id: "ping-1"))
        for _ in 0..<400 {
            if let message = try await herald.store.messages(workspace: "default").first, message.status != .queued { return message }
            try await Task.sleep(for: .milliseconds(25))
        }
        return try #require(try await herald.store.messages(workspace: "default").first)
    }

    /// Internal destinations; `{v4}` and `{v6}` stand for the ports of listeners on 127.0.0.1 and ::1.
    static let refused: [(url: String, reason: String)] = [
        ("http://127.0.0.1:{v4}/api/keys", "destination 127.0.0.1 is a loopback address; allow it with --allow-destination"),
        ("http://[::1]:{v6}/hook", "destination ::1 is a loopback address; allow it with --allow-destination"),
        ("http://localhost:{v4}/hook", "destination localhost resolves to a loopback address; allow it with --allow-destination"),
        ("http://[::ffff:127.0.0.1]:{v4}/hook", "destination ::ffff:127.0.0.1 is a loopback address; allow it with --allow-destination"),
        ("http://2130706433:{v4}/hook", "destination 2130706433 resolves to a loopback address; allow it with --allow-destination"),
        ("http://0.0.0.0:{v4}/hook", "destination 0.0.0.0 is an unspecified address; allow it with --allow-destination"),
        ("http://10.20.30.40:8080/hook", "destination 10.20.30.40 is a private address; allow it with --allow-destination"),
        ("http://169.254.169.254/latest/meta-data/", "destination 169.254.169.254 is a link-local address; allow it with --allow-destination"),
        ("http://100.64.0.1/hook", "destination 100.64.0.1 is a shared (carrier-grade NAT) address; allow it with --allow-destination"),
        ("https://[fd00::1]/hook", "destination fd00::1 is a unique-local IPv6 address; allow it with --allow-destination"),
    ]

    @Test("an internal destination is undeliverable at once, with a reason that says nothing of its ports, and no connection reaches it",
          arguments: refused)
    func internalDestinationRefused(url: String, reason: String) async throws {
        let v4 = try SilentListener(address: "127.0.0.1")
        let v6 = try SilentListener(address: "::1")
        try await LiveHerald.run { herald in
            let url = url.replacingOccurrences(of: "{v4}", with: "\(v4.port)").replacingOccurrences(of: "{v6}", with: "\(v6.port)")
            let message = try await Self.send(to: url, through: herald)
            #expect(message.status == .undeliverable)
            #expect(message.history.map(\.status) == [.queued, .undeliverable])
            #expect(message.history.last?.reason == reason)
        }
        #expect(v4.takeConnections() == 0)
        #expect(v6.takeConnections() == 0)
    }

    @Test("the same destination refused without an allow-list is reached with one (--allow-destination): address, range or host name",
          arguments: [
              ("127.0.0.1", "http://127.0.0.1:{port}/hook", "127.0.0.1"),
              ("::1", "http://[::1]:{port}/hook", "::1"),
              ("localhost", "http://localhost:{port}/hook", "127.0.0.1"),
              ("127.0.0.0/8", "http://[::ffff:127.0.0.1]:{port}/hook", "127.0.0.1"),
          ])
    func allowedDestinationDelivered(allow: String, url: String, receiverHost: String) async throws {
        let receiver = WebhookReceiver(answers: [200], host: receiverHost)
        try await receiver.run { port in
            let url = url.replacingOccurrences(of: "{port}", with: "\(port)")
            let refused = try await LiveHerald.run { herald in try await Self.send(to: url, through: herald) }
            #expect(refused.status == .undeliverable)
            #expect(receiver.deliveries.isEmpty)
            let delivered = try await LiveHerald.run(configure: { $0.outboundDestinations = try! OutboundDestinationPolicy(allowing: [allow]) }) {
                herald in try await Self.send(to: url, through: herald)
            }
            #expect(delivered.status == .sent)
            #expect(delivered.history.last?.reason == "HTTP 200")
            #expect(receiver.deliveries.count == 1)
        }
    }

    @Test("a redirect is not followed: the message is undeliverable with the 3xx, and the redirect's target receives nothing",
          arguments: [301, 302, 307, 308])
    func redirectNotFollowed(status: Int) async throws {
        let target = WebhookReceiver(answers: [200])
        try await target.run { targetPort in
            let redirector = WebhookReceiver(answers: [status], location: "http://127.0.0.1:\(targetPort)/hook")
            try await redirector.run { port in
                let allowLoopback = { (configuration: inout ServerConfiguration) in
                    configuration.outboundDestinations = try! OutboundDestinationPolicy(allowing: ["127.0.0.1"])
                }
                let message = try await LiveHerald.run(configure: allowLoopback) { herald in
                    try await Self.send(to: "http://127.0.0.1:\(port)/hook", through: herald)
                }
                #expect(message.status == .undeliverable)
                #expect(message.history.last?.reason == "HTTP \(status): redirects are not followed")
                #expect(redirector.deliveries.count == 1)
                #expect(redirector.deliveries.first?.signature != nil)
                #expect(target.deliveries.isEmpty)
            }
        }
    }
}
