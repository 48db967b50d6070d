public import AsyncHTTPClient
import Dispatch
import Foundation
public import Logging
import NIOCore
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The HTTP client for requests a workspace admin configured: it connects only where
/// ``policy`` allows, and never follows a redirect.
///
/// For each request it resolves the URL's host itself (or takes the address the URL gives),
/// refuses the request if any resolved address is one the policy forbids, and then has
/// AsyncHTTPClient connect to exactly the address it checked: a client whose `dnsOverride`
/// maps the host name to that address, so AsyncHTTPClient never looks the name up again (a
/// DNS answer that changes between the check and the connection cannot point it elsewhere)
/// while TLS still sends the host name (SNI) and validates the certificate against it. Such
/// clients are kept, a few at a time (``maximumClients``), so connections to a destination are
/// reused; one that falls out is shut down once its last request ends.
///
/// A redirect is an answer like any other: following one would send the body (and its
/// signature) to a destination nobody configured or checked.
///
/// Run it as a service, before the services that use it, so it shuts its clients down after
/// they stop; or call ``shutdown()``.
public final class OutboundHTTPClient: Service, Sendable {
    /// What may be connected to.
    public let policy: OutboundDestinationPolicy
    /// Clients kept at once: one per host name and address, plus one for URLs that give an address.
    public let maximumClients: Int
    private let resolver: HostResolver
    private let logger: Logger
    private let pool = Mutex(Pool())

    /// - Parameters:
    ///   - resolver: turns host names into addresses; tests pass their own to pin a name.
    ///   - maximumClients: clients kept for reuse (at least 1).
    public init(
        policy: OutboundDestinationPolicy, resolver: HostResolver = .system, maximumClients: Int = 16,
        logger: Logger = Logger(label: "herald.outbound")
    ) {
        self.policy = policy
        self.resolver = resolver
        self.maximumClients = max(1, maximumClients)
        self.logger = logger
    }

    /// Sends `request` if its destination is allowed, and hands the response to `handle`
    /// before the client it came on can be shut down.
    ///
    /// - Parameter timeout: for the whole request, its response body included; resolving the
    ///   host comes first, and is bounded by the system resolver's own timeouts.
    /// - Throws: ``OutboundRequestError/refused(_:)`` (no connection was attempted),
    ///   ``OutboundRequestError/invalidURL(_:)``, ``OutboundRequestError/unresolvable(host:reason:)``,
    ///   or what AsyncHTTPClient and `handle` throw.
    public func execute<Result>(
        _ request: HTTPClientRequest, timeout: Duration, _ handle: (HTTPClientResponse) async throws -> Result
    ) async throws -> Result {
        // Parsed exactly as AsyncHTTPClient parses it, so the host checked is the host it would connect to.
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let urlHost = url.host, !urlHost.isEmpty
        else { throw OutboundRequestError.invalidURL(request.url) }
        // AsyncHTTPClient drops either bracket of an IPv6 host the same way.
        var trimmed = Substring(urlHost)
        if trimmed.hasPrefix("[") { trimmed = trimmed.dropFirst() }
        if trimmed.hasSuffix("]") { trimmed = trimmed.dropLast() }
        let host = String(trimmed)
        let candidates: [ClientKey]
        if let address = IPAddress(host) {
            if let (_, kind) = policy.refusal(host: host, addresses: [address]) {
                logger.warning("outbound request refused", metadata: ["host": "\(host)", "kind": "\(kind.phrase)"])
                throw OutboundRequestError.refused("destination \(host) is \(kind.phrase); allow it with --allow-destination")
            }
            candidates = [.direct]
        } else {
            let addresses = try await resolver.resolve(host)
            guard !addresses.isEmpty else { throw OutboundRequestError.unresolvable(host: host, reason: "no addresses") }
            if let (address, kind) = policy.refusal(host: host, addresses: addresses) {
                // The address goes to the operator's log only: the message history is read by
                // workspace admins, who should not learn the layout of an internal network from it.
                logger.warning("outbound request refused", metadata: ["host": "\(host)", "address": "\(address)", "kind": "\(kind.phrase)"])
                throw OutboundRequestError.refused("destination \(host) resolves to \(kind.phrase); allow it with --allow-destination")
            }
            candidates = addresses.map { .pinned(host: host, address: $0) }
        }
        let (key, client) = try lease(candidates)
        defer { release(key, client) }
        let response = try await client.execute(request, deadline: .now() + .milliseconds(timeout.wholeMilliseconds), logger: logger)
        return try await handle(response)
    }

    /// Waits for graceful shutdown (or cancellation), then shuts every client down.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Shuts every client down; requests still in flight fail, and later ones throw
    /// ``OutboundRequestError/shutDown``.
    public func shutdown() async {
        let clients = pool.withLock { pool in
            pool.isShutDown = true
            defer { (pool.clients, pool.evicted) = ([:], []) }
            return pool.clients.values.map(\.client) + pool.evicted.map(\.client)
        }
        for client in clients {
            do { try await client.shutdown() } catch { logger.debug("HTTP client shutdown failed", metadata: ["error": "\(error)"]) }
        }
    }

    /// Which client a request goes through: the one for URLs that give an address, or one
    /// pinned to an address a host name resolved to.
    private enum ClientKey: Hashable, Sendable {
        case direct
        case pinned(host: String, address: IPAddress)
    }

    private struct Cached {
        let client: HTTPClient
        var leases: Int
        var lastUse: UInt64
    }

    private struct Pool {
        var clients: [ClientKey: Cached] = [:]
        /// Clients pushed out of `clients` while requests were using them.
        var evicted: [(client: HTTPClient, leases: Int)] = []
        var uses: UInt64 = 0
        var isShutDown = false
    }

    /// A client for the first of `candidates` that has one (a host's addresses come in the
    /// resolver's order, which can rotate: any of them is as good), else a new client for
    /// the first, pushing out the least recently used one when the pool is full.
    private func lease(_ candidates: [ClientKey]) throws -> (ClientKey, HTTPClient) {
        let (key, client, retired) = try pool.withLock { pool throws(OutboundRequestError) -> (ClientKey, HTTPClient, HTTPClient?) in
            guard !pool.isShutDown else { throw .shutDown }
            pool.uses += 1
            if let key = candidates.first(where: { pool.clients[$0] != nil }) {
                pool.clients[key]!.leases += 1
                pool.clients[key]!.lastUse = pool.uses
                return (key, pool.clients[key]!.client, nil)
            }
            var retired: HTTPClient?
            if pool.clients.count >= maximumClients, let (oldKey, oldest) = pool.clients.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                pool.clients[oldKey] = nil
                if oldest.leases == 0 { retired = oldest.client } else { pool.evicted.append((oldest.client, oldest.leases)) }
            }
            let key = candidates[0]
            let client = Self.makeClient(key)
            pool.clients[key] = Cached(client: client, leases: 1, lastUse: pool.uses)
            return (key, client, retired)
        }
        retired.map(shutDownInBackground)
        return (key, client)
    }

    private func release(_ key: ClientKey, _ client: HTTPClient) {
        let retired = pool.withLock { pool -> HTTPClient? in
            if pool.clients[key]?.client === client {
                pool.clients[key]!.leases -= 1
            } else if let index = pool.evicted.firstIndex(where: { $0.client === client }) {
                pool.evicted[index].leases -= 1
                if pool.evicted[index].leases == 0 { return pool.evicted.remove(at: index).client }
            }
            return nil  // shut down meanwhile
        }
        retired.map(shutDownInBackground)
    }

    /// Shuts an evicted client down without making a request wait for it.
    private func shutDownInBackground(_ client: HTTPClient) {
        let logger = logger
        client.shutdown { error in
            if let error { logger.debug("HTTP client shutdown failed", metadata: ["error": "\(error)"]) }
        }
    }

    private static func makeClient(_ key: ClientKey) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        // The delivery service bounds requests per endpoint itself (a channel's `concurrency:`,
        // up to 256); AsyncHTTPClient's own default of 8 connections per host would cap a
        // receiver answering in 20 ms at 400 requests/s.
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = ChannelSettings.maximumConcurrency
        if case .pinned(let host, let address) = key {
            configuration.dnsOverride = [host: address.description]
        }
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}

/// Why ``OutboundHTTPClient`` did not send a request.
public enum OutboundRequestError: Error, Equatable, CustomStringConvertible {
    /// The policy forbids the destination; nothing was sent, no connection attempted. The
    /// text says why without saying anything about the destination's ports.
    case refused(String)
    /// Not an `http` or `https` URL with a host.
    case invalidURL(String)
    /// The host name did not resolve, which may pass.
    case unresolvable(host: String, reason: String)
    /// The client was shut down.
    case shutDown

    /// Whether sending again cannot succeed without a change of configuration.
    public var isPermanent: Bool {
        switch self {
        case .refused, .invalidURL: true
        case .unresolvable, .shutDown: false
        }
    }

    /// The reason as a message history shows it.
    public var description: String {
        switch self {
        case .refused(let reason): reason
        case .invalidURL(let url): "\(url) is not an http or https URL with a host"
        case .unresolvable(let host, let reason): "cannot resolve \(host): \(reason)"
        case .shutDown: "the server is shutting down"
        }
    }
}

/// Turns a host name into the addresses to connect to, in order of preference.
public struct HostResolver: Sendable {
    private let lookUp: @Sendable (String) async throws -> [IPAddress]

    /// A resolver that answers with `lookUp` (tests: a name pinned to an address).
    public init(_ lookUp: @escaping @Sendable (String) async throws -> [IPAddress]) {
        self.lookUp = lookUp
    }

    /// The addresses of `host`; throws ``OutboundRequestError/unresolvable(host:reason:)``.
    public func resolve(_ host: String) async throws -> [IPAddress] {
        try await lookUp(host)
    }

    /// The system's resolver (`getaddrinfo`, so `/etc/hosts` too), on a Dispatch queue:
    /// it blocks, and must not hold a thread of the cooperative pool meanwhile.
    public static let system = HostResolver { host in
        try await withCheckedThrowingContinuation { continuation in
            HostResolver.queue.async { continuation.resume(with: Result { try HostResolver.addresses(of: host) }) }
        }
    }

    private static let queue = DispatchQueue(label: "herald.outbound.resolver", attributes: .concurrent)

    private static func addresses(of host: String) throws(OutboundRequestError) -> [IPAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_protocol = Int32(IPPROTO_TCP)
        hints.ai_flags = AI_ADDRCONFIG  // no IPv6 answers on a host without IPv6, as AsyncHTTPClient's own lookup
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw .unresolvable(host: host, reason: reason)
        }
        defer { freeaddrinfo(list) }
        var addresses: [IPAddress] = []
        var entry = list
        while let current = entry {
            if let socketAddress = current.pointee.ai_addr, let address = IPAddress(socketAddress), !addresses.contains(address) {
                addresses.append(address)
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}
