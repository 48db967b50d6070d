import AsyncHTTPClient
import AutomationEngine
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@Suite("OutboundHTTPClient: connects to the address it checked, refuses internal ones, keeps a bounded set of clients", .serialized)
struct OutboundHTTPClientTests {
    /// A resolver that knows only `names` (compared case-insensitively) and counts its lookups.
    final class PinnedNames: Sendable {
        let names: [String: [IPAddress]]
        let lookups = Mutex(0)

        init(_ names: [String: [String]]) {
            self.names = names.mapValues { $0.map { IPAddress($0)! } }
        }

        var resolver: HostResolver {
            HostResolver { host in
                self.lookups.withLock { $0 += 1 }
                guard let addresses = self.names[host.lowercased()] else {
                    throw OutboundRequestError.unresolvable(host: host, reason: "unknown test name")
                }
                return addresses
            }
        }
    }

    /// Runs `body` with a client that allows 127.0.0.1, and shuts it down after.
    @discardableResult
    static func withClient<T>(
        _ names: PinnedNames, maximumClients: Int = 16, _ body: (OutboundHTTPClient) async throws -> T
    ) async throws -> T {
        let client = OutboundHTTPClient(
            policy: try OutboundDestinationPolicy(allowing: ["127.0.0.1"]), resolver: names.resolver, maximumClients: maximumClients)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    static func post(_ url: String, through client: OutboundHTTPClient) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: "{}"))
        return try await client.execute(request, timeout: .seconds(10)) { response in
            _ = try await response.body.collect(upTo: 1024)
            return Int(response.status.code)
        }
    }

    @Test("a host name goes to the address its one lookup gave (the system resolver does not know it), with the URL's Host header")
    func hostNameIsPinned() async throws {
        let receiver = WebhookReceiver(answers: [200])
        try await receiver.run { port in
            let names = PinnedNames(["receiver.herald.test": ["127.0.0.1"]])
            try await Self.withClient(names) { client async throws in
                #expect(try await Self.post("http://Receiver.Herald.test:\(port)/hook", through: client) == 200)
                #expect(try await Self.post("http://Receiver.Herald.test:\(port)/hook", through: client) == 200)
            }
            #expect(names.lookups.withLock { $0 } == 2)  // once per request, by Herald; never by AsyncHTTPClient
            #expect(receiver.deliveries.map(\.authority) == ["Receiver.Herald.test:\(port)", "Receiver.Herald.test:\(port)"])
        }
    }

    @Test("a host name with one internal address among public ones is refused, whichever comes first")
    func anyInternalAddressRefuses() async throws {
        let names = PinnedNames(["mixed.herald.test": ["93.184.216.34", "10.0.0.7"], "mixed6.herald.test": ["fd00::7", "2606:4700::1111"]])
        try await Self.withClient(names) { client async throws in
            let privateAddress = "destination mixed.herald.test resolves to a private address; allow it with --allow-destination"
            await #expect(throws: OutboundRequestError.refused(privateAddress)) { try await Self.post("https://mixed.herald.test/hook", through: client) }
            let uniqueLocal = "destination mixed6.herald.test resolves to a unique-local IPv6 address; allow it with --allow-destination"
            await #expect(throws: OutboundRequestError.refused(uniqueLocal)) { try await Self.post("https://mixed6.herald.test/hook", through: client) }
        }
    }

    @Test("only http and https URLs with a host: no Unix sockets", arguments: [
        "http+unix://%2Fvar%2Frun%2Fdocker.sock/containers/json", "unix:///var/run/docker.sock", "ftp://example.com/file", "http:///hook",
    ])
    func otherSchemesRefused(url: String) async throws {
        try await Self.withClient(PinnedNames([:])) { client async throws in
            await #expect(throws: OutboundRequestError.invalidURL(url)) { try await Self.post(url, through: client) }
        }
    }

    @Test("a client pushed out of a full pool while a request uses it is shut down only after that request; after shutdown() nothing is sent")
    func boundedPool() async throws {
        let slow = WebhookReceiver(answers: [200], delay: .milliseconds(600))
        let fast = WebhookReceiver(answers: [200])
        try await slow.run { slowPort in
            try await fast.run { fastPort in
                let names = PinnedNames(["slow.herald.test": ["127.0.0.1"], "fast.herald.test": ["127.0.0.1"]])
                try await Self.withClient(names, maximumClients: 1) { client async throws in
                    async let slowStatus = Self.post("http://slow.herald.test:\(slowPort)/hook", through: client)
                    try await Task.sleep(for: .milliseconds(200))  // the slow request is in flight
                    for _ in 0..<3 { #expect(try await Self.post("http://fast.herald.test:\(fastPort)/hook", through: client) == 200) }
                    #expect(try await slowStatus == 200)
                    #expect(try await Self.post("http://slow.herald.test:\(slowPort)/hook", through: client) == 200)
                    await client.shutdown()
                    await #expect(throws: OutboundRequestError.shutDown) {
                        try await Self.post("http://fast.herald.test:\(fastPort)/hook", through: client)
                    }
                }
            }
        }
        #expect(slow.deliveries.count == 2)
        #expect(fast.deliveries.count == 3)
    }
}
