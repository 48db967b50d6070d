import AsyncHTTPClient
import Crypto
public import Foundation
import NIOCore
import NIOHTTP1
public import SegmentSpec

/// The `webhook` channel: POSTs each message as JSON to the channel's URL, through
/// ``OutboundHTTPClient`` (only where the operator's destination policy allows, never
/// following a redirect).
///
/// Headers: `Idempotency-Key` (the message's stable id, the same on every attempt) and, with a
/// `secret`, `Herald-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
/// A 2xx is `sent`; 429, 5xx, timeouts and network errors are retried; a 3xx or another 4xx,
/// a refused destination and an unresolvable secret are final (`undeliverable`).
public struct WebhookChannel: DeliveryChannel {
    private let url: String
    private let secret: String?
    private let timeout: Duration
    private let outbound: OutboundHTTPClient
    private let now: @Sendable () -> Timestamp

    /// A webhook to `url`, signed with `secret` when given.
    public init(url: String, secret: String?, timeout: Duration, outbound: OutboundHTTPClient, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }) {
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.outbound = outbound
        self.now = now
    }

    /// The JSON a receiver gets: `{id, workspace, runId, template, channel, subject, body,
    /// recipient: {id, profile}}`; `subject` may be null, and the profile holds whatever
    /// traits the recipient has (no `email` unless one was sent).
    public static func payload(of message: OutgoingMessage) -> JSONValue {
        var payload = JSONObject()
        payload["id"] = .string(message.id)
        payload["workspace"] = .string(message.workspace)
        payload["runId"] = .number(JSONNumber(message.runId))
        payload["template"] = .string(message.template)
        payload["channel"] = .string(message.channel)
        payload["subject"] = message.subject.map(JSONValue.string) ?? .null
        payload["body"] = message.body.map(JSONValue.string) ?? .null
        payload["recipient"] = .object(JSONObject([(key: "id", value: .string(message.recipient)), (key: "profile", value: .object(message.profile))]))
        return .object(payload)
    }

    public func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome {
        let body = Self.payload(of: message).encodedBytes()
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: message.id)
        if let secret {
            guard !secret.contains("${") else {
                return .undeliverable("the channel secret \(secret) is not set in the server's environment, or is not an allowed name")
            }
            request.headers.add(name: "Herald-Signature", value: Self.signature(body: body, secret: secret, at: now()))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let code = try await outbound.execute(request, timeout: timeout) { response in
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return Int(response.status.code)
            }
            switch code {
            case 200..<300: return .sent("HTTP \(code)")
            case 300..<400: return .undeliverable("HTTP \(code): redirects are not followed")
            case 429, 500...: return .retry("HTTP \(code)")
            default: return .undeliverable("HTTP \(code): the receiver refused it")
            }
        } catch let error as OutboundRequestError where error.isPermanent {
            return .undeliverable(error.description)
        } catch {
            return .retry("\(error)")
        }
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    public static func signature(body: [UInt8], secret: String, at time: Timestamp) -> String {
        let seconds = time.millisecondsSince1970 / 1000
        let signed = Array("\(seconds).".utf8) + body
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(seconds),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

extension ChannelDirectory {
    /// Herald's channels: webhooks through `outbound`, email through `smtp` (by default a
    /// transport with `outbound`'s destination policy); `inbox` and `log` are delivered at
    /// step time and have none here.
    public static func standard(outbound: OutboundHTTPClient, smtp: SMTPTransport? = nil) -> ChannelDirectory {
        let smtp = smtp ?? SMTPTransport(policy: outbound.policy)
        return ChannelDirectory { channel in
            switch channel.kind {
            case .webhook(let url, let secret, let timeoutSeconds):
                WebhookChannel(url: url, secret: secret, timeout: .seconds(timeoutSeconds), outbound: outbound)
            case .smtp(let settings):
                SMTPChannel(settings: settings, transport: smtp)
            case .inbox, .log:
                nil
            }
        }
    }
}
