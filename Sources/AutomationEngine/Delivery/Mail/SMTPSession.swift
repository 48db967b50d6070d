import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how an SMTP session connects and signs in.
struct SMTPLogin: Sendable {
    /// The server's host name (for SNI and certificate checks) or address.
    let host: String
    let port: Int
    let security: HeraldConfiguration.SMTPSettings.Security
    let username: String?
    let password: String?
    /// The name Herald gives in `EHLO`.
    let clientName: String
    /// How long one exchange (connecting and signing in, or one message) may take.
    let timeout: Duration
    /// TLS settings (trust roots); nil when `security` is `none`.
    let tls: NIOSSLContext?
}

/// What sending one message over a session came to.
enum SMTPTransactionResult: Sendable {
    /// `250` after the data: the server took responsibility for the message.
    case accepted(SMTPReply)
    /// The server refused a command of the transaction; the session is still usable.
    case rejected(SMTPReply, command: String)
    /// The connection failed or the server broke the protocol; the session is gone.
    /// `beforeData` is true when the message's data had not started: it cannot have arrived.
    case failed(String, beforeData: Bool)
}

/// Why a session could not be opened.
enum SMTPSessionFailure: Error, CustomStringConvertible {
    /// The server refused (5xx), or cannot do what the channel requires (STARTTLS): final.
    case refused(String)
    /// A network error, a timeout, a 4xx: may pass.
    case transient(String)

    var description: String {
        switch self {
        case .refused(let reason), .transient(let reason): reason
        }
    }
}

/// One SMTP connection, signed in and ready for messages, owned by a task that runs its
/// dialogue: callers hand it one transaction at a time (``send(from:to:data:)``) and must
/// not share it meanwhile (the session pool hands each session to one sender at a time).
///
/// The dialogue: greeting, `EHLO`, `STARTTLS` and `EHLO` again (or TLS from the start), `AUTH
/// PLAIN` or `AUTH LOGIN`; then per message `MAIL FROM`, `RCPT TO`, `DATA` with the message
/// dot-stuffed, and `RSET` after a refused transaction so the connection stays usable;
/// `QUIT` at the end.
final class SMTPSession: Sendable {
    private enum Request: Sendable {
        case send(from: String, to: String, data: String, CheckedContinuation<SMTPTransactionResult, Never>)
        case quit
    }

    private let requests: AsyncStream<Request>.Continuation

    private init(requests: AsyncStream<Request>.Continuation) {
        self.requests = requests
    }

    /// Connects to the first of `addresses` that answers, and signs in.
    static func open(_ login: SMTPLogin, addresses: [SocketAddress]) async throws(SMTPSessionFailure) -> SMTPSession {
        var failure = SMTPSessionFailure.transient("no address to connect to")
        var connected: NIOAsyncChannel<ByteBuffer, ByteBuffer>?
        for address in addresses {
            do {
                connected = try await connect(login, to: address)
                break
            } catch {
                failure = .transient("cannot connect to \(login.host) port \(login.port): \(Self.describe(error))")
            }
        }
        guard let channel = connected else { throw failure }
        let (stream, continuation) = AsyncStream.makeStream(of: Request.self)
        let session = SMTPSession(requests: continuation)
        let setup: SMTPSessionFailure? = await withCheckedContinuation { ready in
            Task {
                var answered = false
                do {
                    try await channel.executeThenClose { inbound, outbound in
                        var dialogue = SMTPConversation(channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound, login: login)
                        answered = true
                        do {
                            try await dialogue.signIn()
                        } catch let failure as SMTPSessionFailure {
                            ready.resume(returning: failure)
                            return
                        } catch {
                            ready.resume(returning: .transient("\(error)"))
                            return
                        }
                        ready.resume(returning: nil)
                        for await request in stream {
                            switch request {
                            case .send(let from, let to, let data, let reply):
                                let result = await dialogue.send(from: from, to: to, data: data)
                                reply.resume(returning: result)
                                if case .failed = result { return }
                            case .quit:
                                await dialogue.quit()
                                return
                            }
                        }
                    }
                } catch {
                    // Closing failed; nothing is waiting on this session any more.
                }
                if !answered { ready.resume(returning: .transient("the connection to \(login.host) closed at once")) }
                continuation.finish()
                // Senders that raced the end get an answer instead of waiting for ever.
                for await request in stream {
                    if case .send(_, _, _, let reply) = request { reply.resume(returning: .failed("the connection is closed", beforeData: true)) }
                }
            }
        }
        if let setup {
            continuation.finish()
            throw setup
        }
        return session
    }

    /// Sends one message: `from` and `to` are bare addresses, `data` the rendered message.
    func send(from: String, to: String, data: String) async -> SMTPTransactionResult {
        await withCheckedContinuation { reply in
            if case .terminated = requests.yield(.send(from: from, to: to, data: data, reply)) {
                reply.resume(returning: .failed("the connection is closed", beforeData: true))
            }
        }
    }

    /// Says `QUIT` and closes the connection (without waiting).
    func close() {
        requests.yield(.quit)
        requests.finish()
    }

    private static func connect(_ login: SMTPLogin, to address: SocketAddress) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let timeout = TimeAmount.milliseconds(login.timeout.wholeMilliseconds)
        let implicitTLS = login.security == .implicit ? login.tls : nil
        let serverName = SMTPConversation.serverName(login.host)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(timeout)
            .connect(to: address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: serverName))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }

    /// An error as a message history should say it.
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLError { return "TLS: \(error)" }
        if let error = error as? BoringSSLError { return "TLS: \(error)" }
        if let error = error as? IOError { return error.description }
        if error is ChannelError { return "\(error)" }
        return String(describing: error)
    }
}

/// The dialogue of one session, run by its task alone.
struct SMTPConversation {
    let channel: any Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    let login: SMTPLogin

    /// A server name for SNI and certificate checks: nil for an address (SNI carries names only).
    static func serverName(_ host: String) -> String? {
        IPAddress(host) == nil ? host : nil
    }

    /// Greeting, EHLO, STARTTLS when asked for, AUTH when a user name is set.
    mutating func signIn() async throws(SMTPSessionFailure) {
        let deadline = NIODeadline.now() + .milliseconds(login.timeout.wholeMilliseconds)
        do {
            let greeting = try await reply(by: deadline)
            try expect(greeting, 220, "the greeting")
            var capabilities = try await hello(by: deadline)
            if login.security == .starttls {
                guard capabilities.contains("STARTTLS") else {
                    throw SMTPSessionFailure.refused("the server does not offer STARTTLS, which the channel requires (`tls: starttls`); use `tls: implicit` or `tls: none` if that is intended")
                }
                try expect(try await command("STARTTLS", by: deadline), 220, "STARTTLS")
                guard let context = login.tls else { throw SMTPSessionFailure.refused("no TLS settings") }
                let serverName = Self.serverName(login.host)
                try await channel.eventLoop.submit { [channel] in
                    try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first)
                }.get()
                capabilities = try await hello(by: deadline)
            }
            if let username = login.username {
                try await authenticate(username: username, password: login.password ?? "", capabilities: capabilities, by: deadline)
            }
        } catch let failure as SMTPSessionFailure {
            throw failure
        } catch {
            throw .transient(Self.describe(error, during: "signing in to \(login.host)"))
        }
    }

    /// EHLO; returns the capability keywords (`STARTTLS`, `AUTH PLAIN LOGIN`, ...), uppercased.
    private mutating func hello(by deadline: NIODeadline) async throws -> [String] {
        let reply = try await command("EHLO \(login.clientName)", by: deadline)
        try expect(reply, 250, "EHLO")
        return reply.lines.dropFirst().map { $0.uppercased() }
    }

    private mutating func authenticate(username: String, password: String, capabilities: [String], by deadline: NIODeadline) async throws {
        let mechanisms = capabilities.first { $0.hasPrefix("AUTH ") || $0.hasPrefix("AUTH=") }?.dropFirst(5).split(separator: " ").map(String.init) ?? []
        if mechanisms.contains("PLAIN") {
            let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            try expectAuthenticated(try await command("AUTH PLAIN \(token)", by: deadline))
        } else if mechanisms.contains("LOGIN") {
            try expect(try await command("AUTH LOGIN", by: deadline), 334, "AUTH LOGIN")
            try expect(try await command(Data(username.utf8).base64EncodedString(), by: deadline), 334, "AUTH LOGIN (user name)")
            try expectAuthenticated(try await command(Data(password.utf8).base64EncodedString(), by: deadline))
        } else {
            throw SMTPSessionFailure.refused(
                "the server offers no AUTH mechanism Herald speaks (PLAIN or LOGIN)" + (mechanisms.isEmpty ? "; it offers none before TLS, so check `tls:`" : ": it offers \(mechanisms.joined(separator: ", "))"))
        }
    }

    private func expectAuthenticated(_ reply: SMTPReply) throws {
        try expect(reply, 235, "AUTH")
    }

    /// One message. Refused commands are followed by RSET so the session stays usable.
    mutating func send(from: String, to: String, data: String) async -> SMTPTransactionResult {
        let deadline = NIODeadline.now() + .milliseconds(login.timeout.wholeMilliseconds)
        var dataStarted = false
        do {
            for (command, verb) in [("MAIL FROM:<\(from)>", "MAIL FROM"), ("RCPT TO:<\(to)>", "RCPT TO")] {
                let reply = try await self.command(command, by: deadline)
                guard reply.code == 250 || reply.code == 251 else { return await refused(reply, verb, by: deadline) }
            }
            let start = try await command("DATA", by: deadline)
            guard start.code == 354 else { return await refused(start, "DATA", by: deadline) }
            dataStarted = true
            try await write(SMTPDotStuffing.stuffed(data) + ".\r\n")
            let end = try await reply(by: deadline)
            guard end.code == 250 else { return .rejected(end, command: "the message data") }  // the transaction is over either way
            return .accepted(end)
        } catch {
            channel.close(mode: .all, promise: nil)
            return .failed(Self.describe(error, during: "sending"), beforeData: !dataStarted)
        }
    }

    /// Resets a refused transaction, then reports the refusal.
    private mutating func refused(_ reply: SMTPReply, _ verb: String, by deadline: NIODeadline) async -> SMTPTransactionResult {
        // A session whose RSET fails is closed: its next message finds it closed before any
        // data and goes out on a new connection.
        if (try? await command("RSET", by: deadline))?.code != 250 { channel.close(mode: .all, promise: nil) }
        return .rejected(reply, command: verb)
    }

    /// QUIT, best effort: the connection closes either way.
    mutating func quit() async {
        _ = try? await command("QUIT", by: .now() + .seconds(2))
    }

    private func expect(_ reply: SMTPReply, _ code: Int, _ step: String) throws {
        guard reply.code == code else {
            let reason = "\(step) was answered \(reply)"
            throw reply.isPermanent ? SMTPSessionFailure.refused(reason) : SMTPSessionFailure.transient(reason)
        }
    }

    private mutating func command(_ line: String, by deadline: NIODeadline) async throws -> SMTPReply {
        try await write(line + "\r\n")
        return try await reply(by: deadline)
    }

    private func write(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// The next reply, or an error once `deadline` passes (the connection is closed then).
    private mutating func reply(by deadline: NIODeadline) async throws -> SMTPReply {
        let channel = channel
        let timer = channel.eventLoop.scheduleTask(deadline: deadline) { channel.close(mode: .all, promise: nil) }
        defer { timer.cancel() }
        var reader = SMTPReply.Reader()
        while true {
            guard let line = try await inbound.next() else {
                throw SMTPProtocolError(
                    NIODeadline.now() >= deadline
                        ? "the server did not answer within \(login.timeout.components.seconds) s" : "the server closed the connection")
            }
            if let reply = try reader.take(String(buffer: line)) { return reply }
        }
    }

    private static func describe(_ error: any Error, during what: String) -> String {
        if let failure = error as? SMTPSessionFailure { return failure.description }
        if let error = error as? SMTPProtocolError { return error.description }
        return "\(what): \(SMTPSession.describe(error))"
    }
}
