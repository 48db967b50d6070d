import AutomationEngine
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SegmentSpec

/// The ingest endpoints of DESIGN §2: Segment's destination path and the Tracking API.
///
/// Per request: authenticate (header, else the body's `writeKey`), read the body within
/// the limits, decode and validate, append durably through the group-commit writer, and
/// answer 200 only once the events are on disk.
struct IngestController<Context: RequestContext>: Sendable {
    let authenticator: KeyAuthenticator
    let writer: GroupCommitWriter
    let decoder: PayloadDecoder
    let bodyReader: RequestBodyReader
    /// `/inbound/segment`'s own reader and limits: Webhooks (Actions) batches of 4,000 events.
    let destinationReader: DestinationBodyReader
    let signatures: SignatureVerifier
    let failures: AuthenticationFailureLog
    let rateLimiter: WorkspaceRateLimiter
    let metrics: HeraldMetrics

    /// Short paths analytics.js uses for the same calls.
    static var singleEventPaths: [(path: String, type: EventType)] {
        [("identify", .identify), ("track", .track), ("page", .page), ("screen", .screen), ("group", .group), ("alias", .alias),
         ("i", .identify), ("t", .track), ("p", .page), ("s", .screen), ("g", .group), ("a", .alias)]
    }

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        // Webhooks (Actions) lets the customer pick POST, PUT or PATCH; the workspace may be
        // named in the path (needed to check an `X-Signature`) or in `?workspace=`.
        for path in ["inbound/segment", "inbound/segment/{workspace}"] {
            for method in [HTTPRequest.Method.post, .put, .patch] {
                routes.on(RouterPath(path), method: method) { request, context in
                    try await ingest(request, context, endpoint: .destination)
                }
            }
        }
        for (path, type) in Self.singleEventPaths {
            routes.post("v1/\(path)") { request, context in
                try await ingest(request, context, endpoint: .single(type))
            }
        }
        for path in ["batch", "import", "b"] {
            routes.post("v1/\(path)") { request, context in
                try await ingest(request, context, endpoint: .batch)
            }
        }
        return routes
    }

    func ingest(_ request: Request, _ context: Context, endpoint: PayloadEndpoint) async throws -> Response {
        var caller: Caller?
        do {
            do {
                return try await ingest(request, context, endpoint: endpoint, caller: &caller)
            } catch let error as HeraldHTTPError where (error.status.kind == .clientError && error.status != .unauthorized) || error.status == .notImplemented {
                // A key revoked since it was cached only meets the writer's check when there is
                // something to write: any other refusal confirms it first, so revocation holds
                // from the next request whatever that request holds.
                guard let caller, let hash = caller.keyHash else { throw error }
                let valid: Bool
                do {
                    valid = try await authenticator.confirm(hash: hash)
                } catch {
                    throw httpError(for: .storeUnavailable("\(error)"), keyHash: hash, context: context)
                }
                guard valid else { throw HeraldHTTPError.unauthorized("API key is unknown or revoked") }
                throw error
            }
        } catch let error as HeraldHTTPError where error.status == .unauthorized {
            recordFailure(error, request: request, context: context, caller: caller)
            throw error
        }
    }

    /// Who sent a request: a key (its identity and hash, re-checked at commit), or a valid
    /// `X-Signature` for the workspace the request names (no key).
    struct Caller: Sendable {
        let identity: KeyIdentity
        /// Nil when a signature authenticated the request.
        let keyHash: Data?
    }

    /// - Parameter caller: set as soon as the request's key is known.
    private func ingest(_ request: Request, _ context: Context, endpoint: PayloadEndpoint, caller: inout Caller?) async throws -> Response {
        let receivedAt = Timestamp(Date())
        caller = try await authenticateFromHeaders(request)
        let payload: DecodedPayload
        if endpoint == .destination {
            payload = try await readDestinationBody(request, context, caller: &caller)
        } else {
            let body = try await bodyReader.read(request)
            do {
                payload = try decoder.decode(body, endpoint: endpoint)
            } catch {
                try await refuseUndecodable(error, body: body, caller: &caller)
            }
        }
        if caller == nil {
            caller = try await authenticate(writeKey: payload.writeKey)
        }
        guard let caller else { throw HeraldHTTPError.unauthorized("missing API key") }

        let settings = SegmentSettingsHeader.decode(request.headers[.segmentSettings])
        var accepted: [(index: Int, event: IngestEvent)] = []
        var rejected: [DecodedEvent] = []
        var tally = EventTally()
        defer { tally.report(to: metrics) }
        for decoded in payload.events {
            switch decoded.outcome {
            case .success(let event):
                let entry = IngestEvent(
                    event: event, raw: decoded.storedJSON, workspaceId: caller.identity.workspaceId, receivedAt: receivedAt,
                    settings: settings.json, extraWarnings: settings.warning.map { [$0] } ?? [])
                accepted.append((decoded.index, entry))
            case .failure(let error):
                rejected.append(decoded)
                tally.count(type: decoded.typeLabel, outcome: "rejected")
                if payload.shape == .single {
                    if case .unsupportedType = error { throw HeraldHTTPError(.notImplemented, error.description) }
                    throw HeraldHTTPError.badRequest(error.description)
                }
            }
        }

        // A request with nothing to store costs no tokens and is never told to wait.
        if !accepted.isEmpty, let refusal = await rateLimiter.admit(workspace: caller.identity.workspaceId, events: accepted.count) {
            throw HeraldHTTPError(
                .tooManyRequests,
                "workspace \(caller.identity.workspaceId) is limited to \(refusal.limit) events per second; retry after \(refusal.retryAfter) s",
                headers: [.retryAfter: String(refusal.retryAfter)])
        }
        let outcomes: [AppendOutcome]
        do {
            outcomes = try await writer.append(accepted.map(\.event), keyHash: caller.keyHash)
        } catch let error as IngestError {
            throw httpError(for: error, keyHash: caller.keyHash, context: context)
        }
        var duplicates = 0
        for (entry, outcome) in zip(accepted, outcomes) {
            if case .duplicate = outcome { duplicates += 1 }
            tally.count(type: entry.event.type.rawValue, outcome: outcome == .duplicate ? "duplicate" : "accepted")
        }
        return response(endpoint: endpoint, accepted: accepted.count - duplicates, duplicates: duplicates, rejected: rejected)
    }

    /// Reads an `/inbound/segment` body, checking its `X-Signature` when it has one (or the
    /// workspace it names requires one); a valid signature authenticates the request.
    private func readDestinationBody(_ request: Request, _ context: Context, caller: inout Caller?) async throws -> DecodedPayload {
        let named = context.parameters.get("workspace") ?? request.uri.queryParameters.get("workspace")
        if let named, let identity = caller?.identity, identity.workspaceId != named {
            throw HeraldHTTPError.unauthorized("this API key belongs to another workspace than \(named), which the URL names")
        }
        let check = try await signatures.check(request.headers, workspace: named ?? caller?.identity.workspaceId, hasKey: caller != nil)
        let body = try await destinationReader.read(request, signingKey: check?.key)
        if let check {
            guard check.accepts(body) else {
                throw HeraldHTTPError.unauthorized(
                    "X-Signature does not match this body signed with workspace \(check.workspace)'s signing secret (HMAC-SHA1, hex)")
            }
            if caller == nil {
                caller = Caller(identity: KeyIdentity(keyId: "X-Signature", workspaceId: check.workspace, scope: .ingest), keyHash: nil)
            }
        }
        switch body.payload {
        case .success(let payload):
            return payload
        case .failure(let error):
            try await refuseUndecodable(error, body: body.collected ?? [], caller: &caller)
        }
    }

    /// Refuses a body that is not a payload of events: a 400 for an authenticated caller, a
    /// 401 for anyone else.
    private func refuseUndecodable(_ error: PayloadError, body: [UInt8], caller: inout Caller?) async throws -> Never {
        metrics.recordEvents(type: "unknown", outcome: "rejected")
        // Without a key in the headers the body is the only place for one (Segment's
        // libraries send nothing else), and they must get the 400: they retry a 401.
        // A caller with no valid key learns nothing about how Herald parses bodies.
        if caller == nil, let writeKey = PayloadDecoder.writeKey(in: body) {
            caller = try await authenticate(writeKey: writeKey)
        }
        guard caller != nil else {
            throw HeraldHTTPError.unauthorized(
                "missing API key: send `Authorization: Basic base64(key:)`, `Authorization: Bearer key`, or `writeKey` in a valid JSON body")
        }
        throw HeraldHTTPError.badRequest(error.description)
    }

    private func authenticateFromHeaders(_ request: Request) async throws -> Caller? {
        guard let key = try RequestCredentials.key(from: request.headers) else { return nil }
        guard let found = try await authenticator.identity(for: key) else {
            throw HeraldHTTPError.unauthorized("API key is unknown or revoked")
        }
        return Caller(identity: found.identity, keyHash: found.hash)
    }

    private func authenticate(writeKey: String?) async throws -> Caller {
        guard let writeKey, !writeKey.isEmpty else {
            throw HeraldHTTPError.unauthorized(
                "missing API key: send `Authorization: Basic base64(key:)`, `Authorization: Bearer key`, or `writeKey` in the body")
        }
        guard let found = try await authenticator.identity(for: writeKey) else {
            throw HeraldHTTPError.unauthorized("API key is unknown or revoked")
        }
        return Caller(identity: found.identity, keyHash: found.hash)
    }

    /// Notes a 401 for the API and the web page (``AuthenticationFailureLog``).
    private func recordFailure(_ error: HeraldHTTPError, request: Request, context: Context, caller: Caller?) {
        let credential: String
        if let key = try? RequestCredentials.key(from: request.headers) {
            credential = AuthenticationFailureLog.describe(key: key)
        } else if request.headers[.authorization] != nil {
            credential = "unreadable Authorization header"
        } else if request.headers[.xSignature] != nil {
            credential = "X-Signature"
        } else {
            credential = "no credentials"
        }
        let named = context.parameters.get("workspace") ?? request.uri.queryParameters.get("workspace")
        failures.record(credential: credential, workspace: named ?? caller?.identity.workspaceId, reason: error.message, path: request.uri.path)
    }

    private func httpError(for error: IngestError, keyHash: Data?, context: Context) -> HeraldHTTPError {
        switch error {
        case .keyRevoked:
            if let keyHash { authenticator.forget(hash: keyHash) }
            return .unauthorized("API key is unknown or revoked")
        case .queueFull, .shuttingDown:
            return .unavailable(error.description)
        case .storeUnavailable:
            context.logger.error("event store write failed", metadata: ["error": "\(error)"])
            return .unavailable(error.description, retryAfter: 5)
        }
    }

    private func response(endpoint: PayloadEndpoint, accepted: Int, duplicates: Int, rejected: [DecodedEvent]) -> Response {
        guard endpoint == .destination else { return JSONResponse.make(body: ["success": true]) }
        let rejectedJSON: [JSONValue] = rejected.map { decoded in
            var entry = JSONObject([(key: "index", value: .number(JSONNumber(decoded.index)))])
            entry["messageId"] = decoded.messageId.map(JSONValue.string) ?? .null
            if case .failure(let error) = decoded.outcome { entry["message"] = .string(error.description) }
            return .object(entry)
        }
        return JSONResponse.make(body: .object(JSONObject([
            (key: "accepted", value: .number(JSONNumber(accepted))),
            (key: "duplicates", value: .number(JSONNumber(duplicates))),
            (key: "rejected", value: .array(rejectedJSON)),
        ])))
    }
}

/// Counts a request's events by type and outcome, reported to the metrics once per request
/// rather than once per event (a registry look-up per event showed in batch profiles).
struct EventTally {
    private var counts: [String: Int] = [:]

    mutating func count(type: String, outcome: String) {
        counts[type + "\u{0}" + outcome, default: 0] += 1
    }

    func report(to metrics: HeraldMetrics) {
        for (key, count) in counts {
            let parts = key.split(separator: "\u{0}", maxSplits: 1)
            metrics.recordEvents(type: String(parts[0]), outcome: String(parts[1]), count: count)
        }
    }
}

extension DecodedEvent {
    /// The event's `type` for metrics labels: a known call, or "invalid" for an event that
    /// names none (an unknown `type`, or not an object at all).
    var typeLabel: String {
        if case .success(let event) = outcome { return event.type.rawValue }
        return declaredType?.rawValue ?? "invalid"
    }
}

extension HTTPTypes.HTTPField.Name {
    /// Segment's destination settings header.
    static let segmentSettings = HTTPTypes.HTTPField.Name("X-Segment-Settings")!
    /// Segment's request signature (Webhooks destinations with a Shared Secret).
    static let xSignature = HTTPTypes.HTTPField.Name("X-Signature")!
}
