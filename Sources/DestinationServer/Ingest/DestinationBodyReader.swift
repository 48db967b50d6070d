import Crypto
import Foundation
import Hummingbird
import NIOCore
import SegmentSpec

/// Reads and decodes an `/inbound/segment` body, which may be a Webhooks (Actions) batch of
/// up to 4,000 events (megabytes), within the destination's limits.
///
/// A bare JSON array (the batch mode's shape) is cut into events as it arrives and each
/// event is decoded at once (``JSONArraySplitter``), so a request holds its decoded events and
/// one chunk, never the whole body beside a tree of the whole document. Any other body (one
/// event, a `{"batch": [...]}` envelope, a gzip body) is collected within the same limit and
/// decoded whole. When the request is signed, the HMACs its `X-Signature` may carry are
/// computed on the way (``SignatureCheck``).
struct DestinationBodyReader: Sendable {
    /// Collects (and inflates) bodies that are not streamed; its limit is the request limit.
    let collector: RequestBodyReader
    let decoder: PayloadDecoder

    /// What was read.
    struct Body {
        /// The events, or why the body is not a payload of events.
        var payload: Result<DecodedPayload, PayloadError>
        /// The body's bytes when it was collected rather than streamed (for the `writeKey`
        /// fallback); nil for a streamed array, which cannot carry one.
        var collected: [UInt8]?
        /// HMAC-SHA1 of the whole body, when a signing key was given.
        var bodyMAC: HashedAuthenticationCode<Insecure.SHA1>?
        /// HMAC-SHA1 of the first element of a bare array, as sent: what Webhooks (Actions)
        /// signs in batch mode (see ``SignatureCheck``).
        var firstElementMAC: HashedAuthenticationCode<Insecure.SHA1>?
    }

    /// Reads the body of `request`.
    /// - Parameter signingKey: the named workspace's signing secret, when the request is signed.
    /// - Throws: 400 for a body over the limit, too slow, or unreadable (the same refusals as
    ///   ``RequestBodyReader``); an undecodable body is returned in ``Body/payload``.
    func read(_ request: Request, signingKey: SymmetricKey?) async throws(HeraldHTTPError) -> Body {
        let encoding = request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) ?? ""
        if !encoding.isEmpty && encoding != "identity" {
            // Compressed: inflate whole (within the limit), then decode like any other body.
            let bytes = try await collector.read(request)
            var state = StreamState(decoder: decoder, signingKey: signingKey)
            state.consume(bytes[...])
            return state.finish()
        }
        let limit = collector.limit
        let limitText = RequestBodyReader.describe(bytes: limit)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .badRequest("request body is \(length) bytes; the limit is \(limitText)")
        }
        var state = StreamState(decoder: decoder, signingKey: signingKey)
        var received = 0
        let clock = ContinuousClock()
        let giveUp = clock.now + collector.deadline
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= limit else {
                    throw HeraldHTTPError.badRequest("request body is larger than the limit of \(limitText)")
                }
                guard clock.now < giveUp else {
                    throw HeraldHTTPError.badRequest("request body took longer than \(collector.deadline) to arrive")
                }
                chunk.withUnsafeReadableBytes { state.consume($0) }
            }
        } catch let error as HeraldHTTPError {
            throw error
        } catch {
            throw .badRequest("request body could not be read to its end: \(error)")
        }
        return state.finish()
    }

    /// The decoding of one body as its bytes arrive.
    private struct StreamState {
        enum Mode {
            /// Only whitespace so far.
            case undecided([UInt8])
            /// A bare array, cut into events as it arrives.
            case array(JSONArraySplitter)
            /// Anything else, collected.
            case collecting([UInt8])
        }

        let decoder: PayloadDecoder
        let signingKey: SymmetricKey?
        var mode = Mode.undecided([])
        var bodyHMAC: HMAC<Insecure.SHA1>?
        var firstElementMAC: HashedAuthenticationCode<Insecure.SHA1>?
        var events: [DecodedEvent] = []
        /// The first refusal of the body as a whole; decoding stops there, reading does not
        /// (the signature covers the whole body).
        var failure: PayloadError?

        init(decoder: PayloadDecoder, signingKey: SymmetricKey?) {
            self.decoder = decoder
            self.signingKey = signingKey
            bodyHMAC = signingKey.map { HMAC<Insecure.SHA1>(key: $0) }
        }

        mutating func consume(_ bytes: some Collection<UInt8> & Sequence<UInt8>) {
            bodyHMAC?.update(data: Array(bytes))
            switch mode {
            case .undecided(var prefix):
                prefix.append(contentsOf: bytes)
                guard let first = prefix.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
                    mode = .undecided(prefix)
                    return
                }
                if first == UInt8(ascii: "[") {
                    mode = .array(JSONArraySplitter())
                    split(prefix)
                } else {
                    mode = .collecting(prefix)
                }
            case .array:
                split(bytes)
            case .collecting(var collected):
                mode = .undecided([])  // lets `collected` be appended to without a copy
                collected.append(contentsOf: bytes)
                mode = .collecting(collected)
            }
        }

        private mutating func split(_ bytes: some Sequence<UInt8>) {
            guard failure == nil, case .array(var splitter) = mode else { return }
            let limit = decoder.maximumBatchEvents
            let signing = signingKey
            var decoded: [DecodedEvent] = []
            var firstMAC: HashedAuthenticationCode<Insecure.SHA1>?
            let start = events.count
            do {
                try splitter.feed(bytes) { (element, offset) throws(PayloadError) in
                    let index = start + decoded.count
                    // Past the limit the elements are only counted, for the refusal's message.
                    guard index < limit else { return }
                    if index == 0, let signing {
                        firstMAC = HMAC<Insecure.SHA1>.authenticationCode(for: element, using: signing)
                    }
                    decoded.append(try decoder.decodeArrayElement(element, index: index, offset: offset))
                }
            } catch {
                switch error {
                case .malformed(let malformed): failure = .malformed(malformed)
                case .element(let refusal): failure = refusal
                }
            }
            events.append(contentsOf: decoded)
            if let firstMAC { firstElementMAC = firstMAC }
            mode = .array(splitter)
        }

        func finish() -> Body {
            let bodyMAC = bodyHMAC.map { $0.finalize() }
            switch mode {
            case .undecided(let bytes), .collecting(let bytes):
                let payload = Result { () throws(PayloadError) in try decoder.decode(bytes, endpoint: .destination) }
                return Body(payload: payload, collected: bytes, bodyMAC: bodyMAC, firstElementMAC: nil)
            case .array(let splitter):
                var payload: Result<DecodedPayload, PayloadError>
                if let failure {
                    payload = .failure(failure)
                } else {
                    do {
                        try splitter.finish()
                        if splitter.count > decoder.maximumBatchEvents {
                            payload = .failure(.tooManyEvents(count: splitter.count, limit: decoder.maximumBatchEvents))
                        } else {
                            payload = .success(DecodedPayload(shape: .array, writeKey: nil, events: events))
                        }
                    } catch {
                        payload = .failure(.malformed(error))
                    }
                }
                return Body(payload: payload, collected: nil, bodyMAC: bodyMAC, firstElementMAC: firstElementMAC)
            }
        }
    }
}
