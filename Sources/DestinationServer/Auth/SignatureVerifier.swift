import AutomationEngine
import Crypto
import Foundation
import Hummingbird
import Synchronization

/// Checks Segment's `X-Signature` on `/inbound/segment` requests.
///
/// Segment's Webhooks (Actions) destination, given a Shared Secret, sends
/// `X-Signature: hex(HMAC-SHA1(secret, JSON.stringify(data)))` (segmentio/action-destinations,
/// `destinations/webhook/index.ts`, `extendRequest`). For one event `data` is the whole body.
/// In batch mode it is **the first event's** `data` only, while the body is the array of all
/// of them: so a batch is accepted when the signature matches the whole body or the first
/// element exactly as sent (Segment's `JSON.stringify` writes the array's elements the same
/// way as alone). The classic Webhooks destination signs the whole body the same way.
///
/// The secret belongs to a workspace, so a signed request names it in the URL
/// (`/inbound/segment/<workspace>` or `?workspace=`). Comparisons are constant-time
/// (swift-crypto's MAC equality).
final class SignatureVerifier: Sendable {
    private let store: HeraldStore
    /// How long a workspace's secret is remembered: every keyed request to `/inbound/segment`
    /// asks whether its workspace requires signatures, which must not cost a database read.
    /// `herald workspaces signing-secret` takes effect on a running server within it.
    private let refreshInterval: Duration
    private let cache = Mutex<[String: (signing: WorkspaceSigningSecret?, loadedAt: ContinuousClock.Instant)]>([:])

    init(store: HeraldStore, refreshInterval: Duration = .seconds(2)) {
        self.store = store
        self.refreshInterval = refreshInterval
    }

    private func signingSecret(workspace: String) async throws -> WorkspaceSigningSecret? {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0[workspace] }), now - cached.loadedAt < refreshInterval { return cached.signing }
        let signing = try await store.signingSecret(workspace: workspace)
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }  // names come from URLs: bounded
            cache[workspace] = (signing, now)
        }
        return signing
    }

    /// A signature to check once the body is read.
    struct Check: Sendable {
        let workspace: String
        let key: SymmetricKey
        let signature: [UInt8]

        /// Whether the signature is the body's, or (a batch) its first element's.
        func accepts(_ body: DestinationBodyReader.Body) -> Bool {
            // Both computed and compared whatever the first gives: no early exit to time.
            let whole = body.bodyMAC.map { $0 == signature } ?? false
            let first = body.firstElementMAC.map { $0 == signature } ?? false
            return whole || first
        }
    }

    /// The signature check a request needs, nil when it needs none.
    ///
    /// - Parameters:
    ///   - workspace: the workspace the URL names, or else the one of the request's key.
    ///   - hasKey: whether a valid key authenticated the request already.
    /// - Throws: 401 when the request cannot be authenticated by its signature: it names no
    ///   workspace, the workspace has no secret, the header is not 40 hex digits, or the
    ///   workspace requires signatures and there is none; 503 when the store cannot be read.
    func check(_ headers: HTTPFields, workspace: String?, hasKey: Bool) async throws -> Check? {
        let header = headers[.xSignature]
        guard let workspace else {
            guard header == nil || hasKey else {
                throw HeraldHTTPError.unauthorized(
                    "X-Signature needs the workspace in the URL (/inbound/segment/<workspace> or ?workspace=<workspace>) to know which secret signs it")
            }
            return nil
        }
        let signing: WorkspaceSigningSecret?
        do {
            signing = try await signingSecret(workspace: workspace)
        } catch {
            throw HeraldHTTPError.unavailable(IngestError.storeUnavailable("reading the workspace's signing secret: \(error)").description, retryAfter: 5)
        }
        guard let header else {
            if let signing, signing.required {
                throw HeraldHTTPError.unauthorized(
                    "workspace \(workspace) requires requests signed with X-Signature (set the Shared Secret in Segment); this one has none")
            }
            return nil
        }
        guard let signing else {
            // A key already proved who sent it; a signature Herald has no secret for adds nothing.
            if hasKey { return nil }
            throw HeraldHTTPError.unauthorized(
                "workspace \(workspace) has no signing secret, so X-Signature cannot authenticate this request (herald workspaces signing-secret)")
        }
        guard let signature = Self.hexBytes(header), signature.count == Insecure.SHA1.byteCount else {
            throw HeraldHTTPError.unauthorized("X-Signature must be 40 hex digits (HMAC-SHA1 of the body)")
        }
        return Check(workspace: workspace, key: SymmetricKey(data: Data(signing.secret.utf8)), signature: signature)
    }

    /// The bytes of a hex string (either case, surrounding spaces ignored), nil when it is not hex.
    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.trimmingCharacters(in: .whitespaces).utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
