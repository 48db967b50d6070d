import CompressNIO
import Foundation
import NIOCore

/// A client of Segment's HTTP Tracking API, speaking it as Segment's own libraries do.
///
/// - Calls go to `<endpoint>/v1/batch` in batches within Segment's limits (32 KB per call,
///   500 KB per request), gzipped, with HTTP Basic auth (the write key as user name, no
///   password) and a batch `sentAt`, so Segment can correct for the sender's clock.
/// - Every call carries a `messageId` (see ``SegmentMessage``): a batch sent again after a
///   failure is counted once by Segment.
/// - A batch is retried with exponential backoff and jitter after a 429 (after its
///   `Retry-After`), a 5xx, a 408 or a network error, never after a 400 or another 4xx.
///
/// The client keeps no queue: ``send(_:)`` returns once each batch was accepted, refused or
/// given up, and says which. Keep calls you must not lose in a queue of your own until then
/// (Herald keeps them in its database: its outbox).
///
/// ```swift
/// let segment = SegmentClient(configuration: .init(writeKey: "…"))
/// let result = await segment.send([.track("Order Completed", identity: .user("u1"), properties: ["revenue": 42.5])])
/// ```
public struct SegmentClient: Sendable {
    /// Segment's US endpoint (the default).
    public static let usEndpoint = "https://api.segment.io"
    /// Segment's EU endpoint, for sources of an EU workspace.
    public static let euEndpoint = "https://events.eu1.segmentapis.com"

    /// Where and how calls are sent.
    public struct Configuration: Sendable {
        /// The source's write key.
        public var writeKey: String
        /// The Tracking API's base URL: ``SegmentClient/usEndpoint``, ``SegmentClient/euEndpoint``,
        /// or any compatible server (another Herald, RudderStack); `/v1/batch` is appended.
        public var endpoint: String
        /// Named in the `User-Agent` header.
        public var library: SegmentLibrary
        /// Gzip request bodies (`Content-Encoding: gzip`).
        public var compress: Bool
        /// Largest call sent; a larger one is refused without a request (Segment: 32 KB).
        public var maximumEventBytes: Int
        /// Largest request body before gzip (Segment: 500 KB).
        public var maximumRequestBytes: Int
        /// Most calls in one request.
        public var maximumBatchEvents: Int
        /// When to send a batch again.
        public var retry: SegmentRetryPolicy
        /// Time allowed for each request.
        public var timeout: Duration

        /// A configuration for the source of `writeKey`, with Segment's limits.
        public init(
            writeKey: String, endpoint: String = SegmentClient.usEndpoint, library: SegmentLibrary = .herald, compress: Bool = true,
            maximumEventBytes: Int = 32 * 1024, maximumRequestBytes: Int = 500 * 1024, maximumBatchEvents: Int = 500,
            retry: SegmentRetryPolicy = SegmentRetryPolicy(), timeout: Duration = .seconds(15)
        ) {
            self.writeKey = writeKey
            self.endpoint = endpoint
            self.library = library
            self.compress = compress
            self.maximumEventBytes = maximumEventBytes
            self.maximumRequestBytes = maximumRequestBytes
            self.maximumBatchEvents = maximumBatchEvents
            self.retry = retry
            self.timeout = timeout
        }

        /// The URL batches are posted to.
        public var batchURL: String {
            var base = endpoint
            while base.hasSuffix("/") { base.removeLast() }
            return base + "/v1/batch"
        }
    }

    /// The configuration.
    public let configuration: Configuration
    private let transport: any SegmentTransport
    private let sleep: @Sendable (Duration) async throws -> Void

    /// A client.
    /// - Parameters:
    ///   - transport: what requests go through (AsyncHTTPClient's shared client by default).
    ///   - sleep: how the client waits between attempts; tests pass one that records the waits.
    public init(
        configuration: Configuration, transport: any SegmentTransport = HTTPClientTransport(),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.configuration = configuration
        self.transport = transport
        self.sleep = sleep
    }

    /// Sends `messages` in as few batches as the limits allow, in order, one batch at a time;
    /// returns what became of each batch (a call too large to send is a batch of its own,
    /// refused without a request). Never throws: every failure is a result.
    public func send(_ messages: [SegmentMessage]) async -> [SegmentBatchResult] {
        let batching = SegmentBatching(
            maximumEventBytes: configuration.maximumEventBytes, maximumRequestBytes: configuration.maximumRequestBytes,
            maximumEvents: max(1, configuration.maximumBatchEvents))
        let (batches, tooLarge) = batching.split(messages)
        var results = tooLarge.map { message in
            SegmentBatchResult(
                messageIds: [message.messageId],
                outcome: .rejected(status: nil, reason: "the call is \(message.byteCount) bytes; Segment takes at most \(configuration.maximumEventBytes)"))
        }
        for batch in batches {
            results.append(SegmentBatchResult(messageIds: batch.map(\.messageId), outcome: await upload(batch)))
        }
        return results
    }

    /// Sends one call now (in a batch of its own).
    public func send(_ message: SegmentMessage) async -> SegmentBatchResult {
        await send([message])[0]
    }

    /// The request headers of a body.
    func headers(compressed: Bool) -> [(String, String)] {
        var headers = [
            ("Content-Type", "application/json"),
            ("Authorization", "Basic " + Data((configuration.writeKey + ":").utf8).base64EncodedString()),
            ("User-Agent", "\(configuration.library.name)/\(configuration.library.version)"),
        ]
        if compressed { headers.append(("Content-Encoding", "gzip")) }
        return headers
    }

    /// The bytes sent for `body`: gzipped when configured (and when gzip works).
    func encode(_ body: String) -> (bytes: [UInt8], compressed: Bool) {
        guard configuration.compress else { return (Array(body.utf8), false) }
        var buffer = ByteBuffer(string: body)
        guard let compressed = try? buffer.compress(with: .gzip()) else { return (Array(body.utf8), false) }
        return (Array(buffer: compressed), true)
    }

    /// Attempts one batch until it is accepted, refused, or the policy gives up.
    private func upload(_ batch: [SegmentMessage]) async -> SegmentBatchResult.Outcome {
        let policy = configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            // `sentAt` is the time of this attempt: Segment corrects timestamps by it.
            let (bytes, compressed) = encode(SegmentBatching.body(batch, sentAt: SegmentTime.iso8601(Date())))
            let reason: String
            var wait: Duration
            do {
                let response = try await transport.post(
                    url: configuration.batchURL, headers: headers(compressed: compressed), body: bytes, timeout: configuration.timeout)
                if (200..<300).contains(response.status) { return .accepted(attempts: attempt) }
                let text = response.body.isEmpty ? "" : ": " + response.body.prefix(300)
                guard SegmentRetryPolicy.isRetryable(status: response.status) else {
                    return .rejected(status: response.status, reason: "HTTP \(response.status)\(text)")
                }
                reason = "HTTP \(response.status)\(text)"
                wait = policy.backoff(afterAttempt: attempt)
                if response.status == 429, let header = response.retryAfter, let asked = SegmentRetryPolicy.retryAfter(header) {
                    guard asked <= policy.maximumRetryAfter else { return .failed(reason: reason, retryAfter: asked) }
                    wait = asked
                }
            } catch {
                reason = "no answer: \(error)"
                wait = policy.backoff(afterAttempt: attempt)
            }
            guard attempt < policy.maximumAttempts else { return .failed(reason: "\(reason) (after \(attempt) attempts)", retryAfter: nil) }
            do {
                try await sleep(wait)
            } catch {
                return .failed(reason: "\(reason); cancelled before attempt \(attempt + 1)", retryAfter: nil)
            }
        }
    }
}

/// What became of one batch.
public struct SegmentBatchResult: Sendable, Hashable {
    /// The batch's calls, by `messageId`.
    public let messageIds: [String]
    /// The result.
    public let outcome: Outcome

    /// How a batch ended.
    public enum Outcome: Sendable, Hashable {
        /// Segment answered 2xx, after this many attempts.
        case accepted(attempts: Int)
        /// Refused for good (a 400, another 4xx, or too large to send: `status` nil); sending
        /// it again would be refused again.
        case rejected(status: Int?, reason: String)
        /// Every attempt failed (5xx, 429, no answer), or Segment asked to wait longer than the
        /// policy waits (`retryAfter`): send it again later, under the same messageIds.
        case failed(reason: String, retryAfter: Duration?)
    }

    /// A result.
    public init(messageIds: [String], outcome: Outcome) {
        self.messageIds = messageIds
        self.outcome = outcome
    }
}
