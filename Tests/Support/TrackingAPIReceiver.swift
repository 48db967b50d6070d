import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization

/// A real HTTP server on a loopback port standing in for Segment's Tracking API: answers
/// `POST /v1/batch` with the scripted statuses (and `Retry-After`s), or 503 while it is
/// ``down``, and keeps each request's headers and inflated body.
public final class TrackingAPIReceiver: Sendable {
    /// One request as received.
    public struct Received: Sendable {
        public let path: String
        public let authorization: String?
        public let contentType: String?
        public let contentEncoding: String?
        public let userAgent: String?
        /// The status it was answered with.
        public let status: Int
        /// The body as sent (gzip inflated).
        public let bodyText: String

        public var body: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(bodyText.utf8))) as? [String: Any] ?? [:] }
        public var batch: [[String: Any]] { body["batch"] as? [[String: Any]] ?? [] }
        public var messageIds: [String] { batch.compactMap { $0["messageId"] as? String } }
    }

    /// A scripted answer.
    public struct Answer: Sendable {
        public let status: Int
        public var retryAfter: String?

        public init(status: Int, retryAfter: String? = nil) {
            self.status = status
            self.retryAfter = retryAfter
        }
    }

    private let state: Mutex<(script: [Answer], received: [Received], down: Bool)>

    /// `answers` for the first requests, in order; 200 after them.
    public init(answers: [Answer] = []) {
        state = Mutex((answers, [], false))
    }

    /// Every request so far.
    public var received: [Received] { state.withLock { $0.received } }

    /// While true, every request is answered 503 (Segment is down).
    public var down: Bool {
        get { state.withLock { $0.down } }
        set { state.withLock { $0.down = newValue } }
    }

    /// Runs the receiver while `body` runs, passing its base URL (`http://127.0.0.1:<port>`).
    public func run<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("v1/batch") { request, _ -> Response in
            var bytes = try await request.body.collect(upTo: 4 << 20)
            let encoding = request.headers[.contentEncoding]
            if encoding == "gzip" { bytes = try bytes.decompress(with: .gzip()) }
            let answer = self.state.withLock { state -> Answer in
                let answer = state.down ? Answer(status: 503) : state.script.isEmpty ? Answer(status: 200) : state.script.removeFirst()
                state.received.append(Received(
                    path: request.uri.path, authorization: request.headers[.authorization], contentType: request.headers[.contentType],
                    contentEncoding: encoding, userAgent: request.headers[.userAgent], status: answer.status, bodyText: String(buffer: bytes)))
                return answer
            }
            var headers = HTTPFields()
            if let retryAfter = answer.retryAfter { headers[.retryAfter] = retryAfter }
            let text = answer.status == 200 ? "{\"success\":true}" : "{\"message\":\"scripted \(answer.status)\"}"
            return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            guard let port = client.port else { throw ReceiverError.noPort }
            return try await body("http://127.0.0.1:\(port)")
        }
    }
}


/// The receiver could not tell which port it listens on.
public enum ReceiverError: Error {
    case noPort
}
