import AsyncHTTPClient
import AutomationEngine
import DestinationServer
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

@Suite("Open and click tracking through the real server: signed tokens, the message's own links only", .serialized)
struct TrackingTests {
    static let body = #"<html><body><p>Hi! See <a href="https://example.com/pricing?plan=pro&amp;ref=mail">pricing</a> or https://example.com/docs.</p></body></html>"#

    /// The public URL the test server is given (as behind a proxy); requests go to its real address.
    static let publicURL = "https://herald.example.com"

    /// A server with a public URL, an inbox channel that tracks, and a Segment receiver;
    /// passes the server and the tracked message.
    static func withTrackedMessage(_ body: @Sendable (LiveHerald, TrackingAPIReceiver, MessageRecord) async throws -> Void) async throws {
        let segment = TrackingAPIReceiver()
        try await segment.run { endpoint in
            try await LiveHerald.run(configure: {
                $0.publicURL = Self.publicURL + "/"
                $0.outboundDestinations = try! OutboundDestinationPolicy(allowing: ["127.0.0.1"])
            }) { herald in
                try await herald.applyConfiguration("""
                    segment: { write_key: wk_tracking, endpoint: "\(endpoint)" }
                    channels: { inbox: { type: inbox, tracking: true } }
                    templates: { news: { channel: inbox, body: '\(Self.body)' } }
                    automations: { newsletter: { steps: [ { send: news } ] } }
                    mappings: [ { on: track/Subscribed, run: newsletter } ]
                    """)
                try await herald.ingest(ManagementPayloads.track("Subscribed", user: "u-1", id: "e-1"))
                var message: MessageRecord?
                for _ in 0..<400 {
                    message = try await herald.store.messages(workspace: "default").first
                    if message != nil { break }
                    try await Task.sleep(for: .milliseconds(25))
                }
                try await body(herald, segment, try #require(message))
            }
        }
    }

    /// `(token of link 0, token of link 1, open token)` from a tracked body.
    static func tokens(_ body: String) throws -> (String, String, String) {
        func after(_ marker: String, _ text: Substring) -> [String] {
            text.components(separatedBy: marker).dropFirst().map { rest in
                var token = String(rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
                if token.hasSuffix(".gif") { token.removeLast(4) }
                while token.hasSuffix(".") { token.removeLast() }  // the sentence's full stop
                return token
            }
        }
        let clicks = after("/t/c/", Substring(body))
        let opens = after("/t/o/", Substring(body))
        try #require(clicks.count == 2 && opens.count == 1, "\(body)")
        return (clicks[0], clicks[1], opens[0])
    }

    /// GETs without following redirects.
    static func get(_ url: String) async throws -> (status: Int, location: String?, contentType: String?) {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 16)
            try await client.shutdown()
            return (Int(response.status.code), response.headers.first(name: "Location"), response.headers.first(name: "Content-Type"))
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    @Test("links become signed redirects to the original link, an HTML body gets a pixel; each records once and reaches Segment once")
    func clickAndOpen() async throws {
        try await Self.withTrackedMessage { herald, segment, message in
            let body = try #require(message.body)
            #expect(!body.contains("https://example.com"))
            #expect(body.contains("\(Self.publicURL)/t/c/"))
            #expect(body.contains("/t/o/") && body.contains(".gif\" width=\"1\""))
            #expect(body.contains("</p><img"))  // the pixel goes inside <body>
            let (pricing, docs, open) = try Self.tokens(body)

            let click = try await Self.get("\(herald.baseURL)/t/c/\(pricing)")
            #expect(click.status == 302)
            #expect(click.location == "https://example.com/pricing?plan=pro&ref=mail")
            #expect(try await Self.get("\(herald.baseURL)/t/c/\(docs)").location == "https://example.com/docs")
            #expect(try await Self.get("\(herald.baseURL)/t/c/\(pricing)").status == 302)  // again: counted
            let pixel = try await Self.get("\(herald.baseURL)/t/o/\(open).gif")
            #expect(pixel.status == 200 && pixel.contentType == "image/gif")
            #expect(try await Self.get("\(herald.baseURL)/t/o/\(open).gif").status == 200)

            let stored = try #require(try await herald.store.message(workspace: "default", id: message.id))
            #expect(stored.status == .clicked)
            #expect(stored.history.map(\.status) == [.sent, .clicked, .opened])
            #expect(stored.history.dropFirst().first?.reason == "clicked https://example.com/pricing?plan=pro&ref=mail")

            var names: [String] = []
            for _ in 0..<400 {
                names = segment.received.filter { $0.status == 200 }.flatMap(\.batch).compactMap { $0["event"] as? String }
                if names.count >= 3 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            try await Task.sleep(for: .milliseconds(300))
            names = segment.received.filter { $0.status == 200 }.flatMap(\.batch).compactMap { $0["event"] as? String }
            #expect(names == ["Message Sent", "Message Clicked", "Message Opened"])
        }
    }

    @Test("a forged, altered or foreign token is 404, and records nothing")
    func forgedTokens() async throws {
        try await Self.withTrackedMessage { herald, _, message in
            let (pricing, _, open) = try Self.tokens(try #require(message.body))
            let parts = pricing.split(separator: ".")
            // The same payload naming link 5 (or another message), under the old signature.
            let otherLink = Data("c:5:\(message.id)".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            let otherMessage = Data("c:0:run-999-step-0".utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            let flipped = String(parts[1].dropLast()) + (parts[1].last == "A" ? "B" : "A")
            for token in ["\(otherLink).\(parts[1])", "\(otherMessage).\(parts[1])", "\(parts[0]).\(flipped)", "nonsense", String(parts[0])] {
                #expect(try await Self.get("\(herald.baseURL)/t/c/\(token)").status == 404, "\(token)")
            }
            // A click token is not an open token, and the other way round.
            #expect(try await Self.get("\(herald.baseURL)/t/o/\(pricing).gif").status == 404)
            #expect(try await Self.get("\(herald.baseURL)/t/c/\(open)").status == 404)
            #expect(try await Self.get("\(herald.baseURL)/t/o/\(open)").status == 404)  // without .gif
            // A correctly signed token of another database does not work here.
            let foreign = TrackingToken(messageId: message.id, kind: .click(link: 0)).signed(with: Data(repeating: 7, count: 32))
            #expect(try await Self.get("\(herald.baseURL)/t/c/\(foreign)").status == 404)
            #expect(try await herald.store.message(workspace: "default", id: message.id)?.status == .sent)
        }
    }
}
