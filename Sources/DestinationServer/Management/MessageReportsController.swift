import AutomationEngine
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import SegmentSpec

/// `POST /api/messages/{id}/events`: what happened to a message after Herald sent it, as its
/// provider saw it (`delivered`, `opened`, `clicked` with a `url`, `bounced` or
/// `undeliverable` with a `reason`), so a mailer built on a webhook channel can report back.
///
/// Authenticated with an `admin` key of the message's workspace, or signed like the webhook
/// that carried the message: `Herald-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
/// "<t>.<body>")>` with that channel's `secret`, at most 5 minutes old. Idempotent, and a
/// status never goes backwards (``HeraldStore/recordReport(_:messageId:workspace:at:)``).
struct MessageReportsController<Context: RequestContext>: Sendable {
    /// Signatures older (or newer) than this are refused.
    static var signatureTolerance: Int64 { 300 }
    let store: any ManagementStorage
    let authenticator: AdminAuthenticator
    let bodyReader: RequestBodyReader

    func add(to router: Router<Context>) {
        router.post("/api/messages/{id}/events") { request, context in
            let id = context.parameters.path("id")
            let bytes = try await bodyReader.read(request)
            let workspace: String
            if request.headers[.authorization] == nil, let signature = request.headers[HTTPField.Name("Herald-Signature")!] {
                workspace = try await verify(signature: signature, body: bytes, messageId: id)
            } else {
                workspace = try await authenticator.requireAdmin(request).workspaceId
            }
            let report = try Self.report(from: bytes)
            guard let result = try await store.recordReport(report, messageId: id, workspace: workspace, at: Timestamp(Date())) else {
                throw HeraldHTTPError(.notFound, "no message \"\(id)\" in workspace \(workspace)")
            }
            var body = JSONObject()
            body["message"] = .object(result.message.json())
            body["recorded"] = .bool(result.recorded)
            body["note"] = result.note.map(JSONValue.string) ?? .null
            body["opens"] = .number(JSONNumber(result.opens))
            body["clicks"] = .number(JSONNumber(result.clicks))
            return JSONResponse.make(body: .object(body))
        }
    }

    /// The workspace of message `id`, when `signature` is a fresh signature of `body` with the
    /// secret of the channel that sent it. Every failure is the same 401, so the answer does
    /// not tell which message ids exist.
    private func verify(signature: String, body: [UInt8], messageId id: String) async throws -> String {
        let refusal = HeraldHTTPError.unauthorized("Herald-Signature does not match: sign `<t>.<body>` with the secret of the channel that sent the message, or send an admin key")
        var timestamp: Int64?
        var mac: [UInt8]?
        for part in signature.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { mac = Self.hexBytes(pair[1]) }
        }
        let now = Int64(Date().timeIntervalSince1970)
        guard let timestamp, let mac, abs(now - timestamp) <= Self.signatureTolerance,
              let origin = try await store.messageOrigin(id: id), let channelName = origin.channel,
              let configuration = try? await store.configuration(workspace: origin.workspace, version: origin.configVersion),
              let channel = configuration.channels.first(where: { $0.name == channelName }),
              case .webhook(_, let secret?, _) = channel.kind, !secret.contains("${")
        else { throw refusal }
        let signed = Array("\(timestamp).".utf8) + body
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: SymmetricKey(data: Data(secret.utf8))) else { throw refusal }
        return origin.workspace
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0, digits.count <= 128 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < digits.count {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
            index += 2
        }
        return bytes
    }

    /// The report a body describes; 400 naming the problem otherwise.
    static func report(from bytes: [UInt8]) throws -> MessageReport {
        guard !bytes.isEmpty else { throw HeraldHTTPError.badRequest("the request body is empty; send {\"event\": \"delivered\"} (or opened, clicked, bounced, undeliverable)") }
        guard let object = (try? JSONParser.parse(bytes))?.objectValue else {
            throw HeraldHTTPError.badRequest("the request body must be a JSON object such as {\"event\": \"delivered\"}")
        }
        guard let event = object["event"]?.stringValue else {
            throw HeraldHTTPError.badRequest("`event` is required: delivered, opened, clicked, bounced or undeliverable")
        }
        let reason = object["reason"]?.stringValue.map { String($0.prefix(1000)) }
        switch event {
        case "delivered": return .delivered
        case "opened": return .opened
        case "clicked":
            guard let url = object["url"]?.stringValue, let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https",
                  url.utf8.count <= 2048
            else { throw HeraldHTTPError.badRequest("a `clicked` report needs `url`, the http(s) link that was clicked (at most 2048 bytes)") }
            return .clicked(url: url)
        case "bounced", "undeliverable":
            return .undeliverable(reason: reason ?? (event == "bounced" ? "the provider reported a bounce" : "the provider reported it undeliverable"))
        default:
            throw HeraldHTTPError.badRequest("`event` \"\(event)\" is not one of delivered, opened, clicked, bounced, undeliverable")
        }
    }
}
