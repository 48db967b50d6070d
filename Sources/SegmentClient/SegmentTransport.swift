public import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What the client sends a request through: AsyncHTTPClient by default
/// (``HTTPClientTransport``); Herald passes one that checks where a workspace's endpoint may
/// connect first. A transport throws for a request that got no answer (a network error, a
/// timeout); every answer, whatever its status, is returned.
public protocol SegmentTransport: Sendable {
    /// POSTs `body` to `url` with `headers` and returns the answer.
    func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> SegmentResponse
}

/// An answer from a Tracking API endpoint.
public struct SegmentResponse: Sendable, Hashable {
    /// The HTTP status.
    public var status: Int
    /// The `Retry-After` header, when sent.
    public var retryAfter: String?
    /// The start of the body (for the reason of a refusal).
    public var body: String

    /// An answer.
    public init(status: Int, retryAfter: String? = nil, body: String = "") {
        self.status = status
        self.retryAfter = retryAfter
        self.body = body
    }

    /// Most bytes of a body kept: enough for Segment's `{"message": ...}`.
    public static let maximumBodyBytes = 4096
}

/// Sends through an AsyncHTTPClient `HTTPClient` (the shared one unless given another).
public struct HTTPClientTransport: SegmentTransport {
    private let client: HTTPClient

    /// A transport over `client`.
    public init(client: HTTPClient = .shared) {
        self.client = client
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> SegmentResponse {
        let request = HTTPClientRequest.segmentPost(url: url, headers: headers, body: body)
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout.seconds * 1000)))
        return try await SegmentResponse(response)
    }
}

extension HTTPClientRequest {
    /// The POST a transport sends.
    public static func segmentPost(url: String, headers: [(String, String)], body: [UInt8]) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }
}

extension SegmentResponse {
    /// The answer AsyncHTTPClient received, its body read up to ``maximumBodyBytes``.
    public init(_ response: HTTPClientResponse) async throws {
        var kept: [UInt8] = []
        for try await chunk in response.body where kept.count < Self.maximumBodyBytes {
            kept += chunk.readableBytesView.prefix(Self.maximumBodyBytes - kept.count)
        }
        self.init(status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: String(decoding: kept, as: UTF8.self))
    }
}
