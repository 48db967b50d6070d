import Foundation
public import Logging
import NIOCore
import NIOSSL
public import ServiceLifecycle
import Synchronization

/// Opens SMTP sessions where the operator's ``OutboundDestinationPolicy`` allows, and keeps
/// them for reuse: one pool of signed-in sessions per server and login, so consecutive
/// messages to a channel skip the connection, TLS handshake and AUTH. A pool holds no more
/// sessions than were in use at once, which the delivery service bounds per channel
/// (`concurrency:`); a session idle for ``idleLimit`` is closed.
///
/// The host is resolved here and every address it resolves to is checked before a connection
/// is made to exactly those addresses, as ``OutboundHTTPClient`` does for webhooks: a mail
/// server configured as `localhost` or `10.0.0.5` is refused unless the operator allowed it
/// (`herald serve --allow-destination`).
///
/// Run it as a service (it closes idle sessions, and all of them at shutdown).
public final class SMTPTransport: Service, Sendable {
    /// What may be connected to.
    public let policy: OutboundDestinationPolicy
    /// How long a session may wait unused before it is closed.
    public let idleLimit: Duration
    private let resolver: HostResolver
    private let trustRootsFile: String?
    private let clientName: String
    private let logger: Logger
    private let pools = Mutex<[PoolKey: SMTPSessionPool]>([:])
    private let tlsContext = Mutex<NIOSSLContext?>(nil)

    /// - Parameters:
    ///   - trustRootsFile: a PEM file of certificate authorities trusted besides the system's
    ///     (a mail relay with a private CA; tests' self-signed server).
    ///   - resolver: turns host names into addresses; tests pass their own to pin a name.
    public init(
        policy: OutboundDestinationPolicy, trustRootsFile: String? = nil, resolver: HostResolver = .system, idleLimit: Duration = .seconds(30),
        logger: Logger = Logger(label: "herald.smtp")
    ) {
        self.policy = policy
        self.trustRootsFile = trustRootsFile
        self.resolver = resolver
        self.idleLimit = idleLimit
        self.logger = logger
        let host = ProcessInfo.processInfo.hostName
        self.clientName = host.contains(".") && host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) ? host : "herald.localdomain"
    }

    /// Sessions are pooled per server and login.
    private struct PoolKey: Hashable {
        let host: String
        let port: Int
        let security: HeraldConfiguration.SMTPSettings.Security
        let username: String?
        let password: String?
        let timeoutSeconds: Int
    }

    /// Sends one message (`data`, already rendered) from `from` to `to`, both bare addresses.
    ///
    /// A 250 after the data is `sent`; a 5xx to any command, a refused destination, a server
    /// that lacks STARTTLS the channel requires, are `undeliverable`; 4xx, network errors
    /// and timeouts are retried. A reused session that turns out closed before the message's
    /// data started is replaced by a new one at once (the server dropped it while idle).
    func send(from: String, to: String, data: String, settings: HeraldConfiguration.SMTPSettings) async -> DeliveryOutcome {
        let pool = pool(for: settings)
        var lastFailure = "no attempt"
        for _ in 0..<2 {
            let session: SMTPSession
            let reused: Bool
            if let idle = pool.take(idleLimit: idleLimit) {
                (session, reused) = (idle, true)
            } else {
                do {
                    session = try await open(settings)
                } catch {
                    switch error {
                    case .refused(let reason): return .undeliverable(reason)
                    case .transient(let reason): return .retry(reason)
                    }
                }
                reused = false
            }
            switch await session.send(from: from, to: to, data: data) {
            case .accepted(let reply):
                pool.put(session)
                return .sent("SMTP \(reply)")
            case .rejected(let reply, let command):
                pool.put(session)
                let reason = "\(command) was refused: \(reply)"
                return reply.isPermanent ? .undeliverable(reason) : .retry(reason)
            case .failed(let reason, let beforeData):
                lastFailure = reason
                if reused && beforeData { continue }
                return .retry(reason)
            }
        }
        return .retry(lastFailure)
    }

    private func pool(for settings: HeraldConfiguration.SMTPSettings) -> SMTPSessionPool {
        let key = PoolKey(
            host: settings.host, port: settings.port, security: settings.security, username: settings.username, password: settings.password,
            timeoutSeconds: settings.timeoutSeconds)
        return pools.withLock { pools in
            if let pool = pools[key] { return pool }
            let pool = SMTPSessionPool()
            pools[key] = pool
            return pool
        }
    }

    /// Resolves and checks the host, then connects and signs in.
    private func open(_ settings: HeraldConfiguration.SMTPSettings) async throws(SMTPSessionFailure) -> SMTPSession {
        var host = Substring(settings.host)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        let name = String(host)
        let addresses: [IPAddress]
        if let address = IPAddress(name) {
            addresses = [address]
        } else {
            do {
                addresses = try await resolver.resolve(name)
            } catch {
                throw .transient("cannot resolve \(name): \(error)")
            }
        }
        if let (address, kind) = policy.refusal(host: name, addresses: addresses) {
            logger.warning("outbound SMTP connection refused", metadata: ["host": "\(name)", "address": "\(address)", "kind": "\(kind.phrase)"])
            let how = IPAddress(name) == nil ? "resolves to" : "is"
            throw .refused("mail server \(name) \(how) \(kind.phrase); allow it with --allow-destination")
        }
        let socketAddresses = addresses.compactMap { try? SocketAddress(ipAddress: $0.description, port: settings.port) }
        let login = SMTPLogin(
            host: name, port: settings.port, security: settings.security, username: settings.username, password: settings.password,
            clientName: clientName, timeout: .seconds(settings.timeoutSeconds), tls: settings.security == .none ? nil : try tls())
        return try await SMTPSession.open(login, addresses: socketAddresses)
    }

    /// The TLS client settings: the system's trust roots and the operator's extra ones,
    /// full certificate and host name verification. Made once.
    private func tls() throws(SMTPSessionFailure) -> NIOSSLContext {
        do {
            return try tlsContext.withLock { cached in
                if let cached { return cached }
                var configuration = TLSConfiguration.makeClientConfiguration()
                if let trustRootsFile { configuration.additionalTrustRoots = [.file(trustRootsFile)] }
                let context = try NIOSSLContext(configuration: configuration)
                cached = context
                return context
            }
        } catch {
            throw .transient("TLS settings cannot be loaded: \(error)")
        }
    }

    /// Closes idle sessions every few seconds; at graceful shutdown, all of them.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(5)) }
            for pool in pools.withLock({ Array($0.values) }) { pool.closeIdle(olderThan: idleLimit) }
        }
        closeAll()
    }

    /// Says QUIT on every idle session.
    public func closeAll() {
        for pool in pools.withLock({ Array($0.values) }) { pool.closeIdle(olderThan: .zero) }
    }
}

/// Signed-in sessions to one server waiting for their next message, most recent last.
final class SMTPSessionPool: Sendable {
    private let idle = Mutex<[(session: SMTPSession, since: ContinuousClock.Instant)]>([])
    /// Sessions kept at most (the delivery service's bound on attempts in flight).
    static let capacity = ChannelSettings.maximumConcurrency

    /// The most recently used idle session, closing those idle longer than `idleLimit`.
    func take(idleLimit: Duration) -> SMTPSession? {
        let now = ContinuousClock.now
        let (session, stale) = idle.withLock { idle -> (SMTPSession?, [SMTPSession]) in
            let stale = idle.filter { now - $0.since > idleLimit }.map(\.session)
            idle.removeAll { now - $0.since > idleLimit }
            return (idle.popLast()?.session, stale)
        }
        for session in stale { session.close() }
        return session
    }

    /// Hands a session back for the next message.
    func put(_ session: SMTPSession) {
        let overflow = idle.withLock { idle -> SMTPSession? in
            idle.append((session, ContinuousClock.now))
            return idle.count > Self.capacity ? idle.removeFirst().session : nil
        }
        overflow?.close()
    }

    /// Closes the sessions idle longer than `limit`.
    func closeIdle(olderThan limit: Duration) {
        let now = ContinuousClock.now
        let stale = idle.withLock { idle -> [SMTPSession] in
            let stale = idle.filter { now - $0.since >= limit }.map(\.session)
            idle.removeAll { now - $0.since >= limit }
            return stale
        }
        for session in stale { session.close() }
    }
}
