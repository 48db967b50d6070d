import AsyncHTTPClient
import Crypto
public import Foundation
import GRDB
public import Logging
import NIOCore
import NIOHTTP1
public import SegmentSpec

/// Delivers `sent` messages of webhook channels: POSTs JSON with `Idempotency-Key` (the
/// message's stable id) and `Herald-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`.
///
/// 2xx is `delivered`; 429, 5xx, timeouts and network errors are retried with exponential
/// backoff and jitter up to ``maximumAttempts``, then `undeliverable`; any other 4xx, and a
/// 3xx (redirects are not followed), is `undeliverable` at once, and so is a URL whose
/// destination ``OutboundHTTPClient`` refuses (an internal address the operator did not
/// allow), without a connection. The POST happens outside any transaction: a crash after it
/// and before the status is written means one more POST with the same Idempotency-Key.
public struct WebhookDeliverer: Sendable {
    /// Attempts before a message is given up as undeliverable.
    public var maximumAttempts = 8
    /// Backoff of the first retry; each later one doubles, up to an hour.
    public var initialBackoff: Duration = .seconds(1)
    private let store: HeraldStore
    private let outbound: OutboundHTTPClient
    private let logger: Logger
    private let now: @Sendable () -> Timestamp

    /// A deliverer of `store`'s webhook messages.
    ///
    /// - Parameters:
    ///   - outbound: the HTTP client that POSTs them, where its policy allows.
    ///   - now: the clock that decides which messages are due; tests pass a fixed one.
    public init(store: HeraldStore, outbound: OutboundHTTPClient, logger: Logger = Logger(label: "herald.webhook"),
                now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }) {
        self.store = store
        self.outbound = outbound
        self.logger = logger
        self.now = now
    }

    /// Attempts every due webhook message once; returns how many attempts were made.
    @discardableResult
    public func deliverDue(limit: Int = 100) async throws -> Int {
        let time = now().millisecondsSince1970
        let due = try await store.writer.read { db -> [DueMessage] in
            try Row.fetchAll(db, sql: """
                SELECT m.*, r.configVersion, p.traits AS profileTraits FROM message m
                JOIN run r ON r.id = m.runId
                LEFT JOIN profile p ON p.workspaceId = m.workspaceId AND p.profileId = m.recipient
                WHERE m.status = 'sent' AND m.nextAttemptAt <= ? ORDER BY m.nextAttemptAt LIMIT ?
                """, arguments: [time, limit]).map(DueMessage.init(row:))
        }
        for row in due { try await attempt(row) }
        return due.count
    }

    /// A message due for an attempt, read out of the database.
    private struct DueMessage: Sendable {
        let id, workspace, template, recipient: String
        let channel, subject, body, profileTraits: String?
        let runId: Int64
        let version, attempts: Int

        init(row: Row) {
            id = row["id"]
            workspace = row["workspaceId"]
            template = row["template"]
            recipient = row["recipient"]
            channel = row["channel"]
            subject = row["subject"]
            body = row["body"]
            profileTraits = row["profileTraits"]
            runId = row["runId"]
            version = row["configVersion"]
            attempts = row["attempts"]
        }
    }

    private func attempt(_ row: DueMessage) async throws {
        let id = row.id
        let workspace = row.workspace
        let version = row.version
        let attempts = row.attempts + 1
        guard let yaml = try await store.writer.read({ db in
            try String.fetchOne(db, sql: "SELECT yaml FROM configVersion WHERE workspaceId = ? AND version = ?", arguments: [workspace, version])
        }),
            let configuration = try? ConfigurationLoader.load(yaml: yaml, secrets: .process(), requireSecrets: false),
            let channel = configuration.channels.first(where: { $0.name == row.channel }),
            case .webhook(let url, let secret, let timeout) = channel.kind
        else {
            try await record(id, status: "undeliverable", reason: "its webhook channel is no longer in configuration version \(version)", attempts: attempts)
            return
        }
        var payload = JSONObject()
        payload["id"] = .string(id)
        payload["workspace"] = .string(workspace)
        payload["runId"] = .number(JSONNumber(row.runId))
        payload["template"] = .string(row.template)
        payload["channel"] = .string(channel.name)
        payload["subject"] = row.subject.map(JSONValue.string) ?? .null
        payload["body"] = row.body.map(JSONValue.string) ?? .null
        let traits = row.profileTraits.flatMap { try? JSONParser.parse($0) } ?? .object(JSONObject())
        payload["recipient"] = .object(JSONObject([(key: "id", value: .string(row.recipient)), (key: "profile", value: traits)]))
        let body = JSONValue.object(payload).encodedBytes()
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: id)
        if let secret {
            guard !secret.contains("${") else {
                try await record(id, status: "undeliverable", reason: "the channel secret \(secret) is not set in the environment", attempts: attempts)
                return
            }
            request.headers.add(name: "Herald-Signature", value: Self.signature(body: body, secret: secret, at: now()))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let code = try await outbound.execute(request, timeout: .seconds(timeout)) { response in
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return Int(response.status.code)
            }
            switch code {
            case 200..<300:
                try await record(id, status: "delivered", reason: "HTTP \(code)", attempts: attempts)
            case 300..<400:
                try await record(id, status: "undeliverable", reason: "HTTP \(code): redirects are not followed", attempts: attempts)
            case 429, 500...:
                try await retry(id, reason: "HTTP \(code)", attempts: attempts)
            default:
                try await record(id, status: "undeliverable", reason: "HTTP \(code): the receiver refused it", attempts: attempts)
            }
        } catch let error as OutboundRequestError where error.isPermanent {
            try await record(id, status: "undeliverable", reason: error.description, attempts: attempts)
        } catch {
            try await retry(id, reason: "\(error)", attempts: attempts)
        }
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    public static func signature(body: [UInt8], secret: String, at time: Timestamp) -> String {
        let seconds = time.millisecondsSince1970 / 1000
        let signed = Array("\(seconds).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(seconds),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    private func retry(_ id: String, reason: String, attempts: Int) async throws {
        guard attempts < maximumAttempts else {
            try await record(id, status: "undeliverable", reason: "\(reason); gave up after \(attempts) attempts", attempts: attempts)
            return
        }
        let base = Double(initialBackoff.wholeMilliseconds) * pow(2, Double(attempts - 1))
        let delay = Int64(min(base, 3_600_000) * Double.random(in: 0.8...1.2))
        let next = now().millisecondsSince1970 + delay
        logger.info("webhook attempt failed; retrying", metadata: ["message": "\(id)", "attempt": "\(attempts)", "reason": "\(reason)"])
        try await store.writer.write { db in
            try db.execute(sql: "UPDATE message SET attempts = ?, nextAttemptAt = ?, updatedAt = ? WHERE id = ?",
                           arguments: [attempts, next, next - delay, id])
            try db.execute(sql: "INSERT INTO messageStatus (messageId, status, reason, at) VALUES (?, 'retrying', ?, ?)",
                           arguments: [id, "attempt \(attempts): \(reason)", next - delay])
        }
    }

    private func record(_ id: String, status: String, reason: String, attempts: Int) async throws {
        let time = now().millisecondsSince1970
        try await store.writer.write { db in
            try db.execute(sql: "UPDATE message SET status = ?, attempts = ?, nextAttemptAt = NULL, updatedAt = ? WHERE id = ?",
                           arguments: [status, attempts, time, id])
            try db.execute(sql: "INSERT INTO messageStatus (messageId, status, reason, at) VALUES (?, ?, ?, ?)", arguments: [id, status, reason, time])
        }
    }
}
