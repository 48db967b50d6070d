import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SegmentSpec

/// A running Herald server reached over HTTP, for `send-test`, `events tail` and `apply --url`.
struct HeraldAPI: Sendable {
    /// The server's base URL without a trailing slash, e.g. `http://127.0.0.1:8080`.
    let baseURL: String
    private let client: HTTPClient

    /// How a request authenticates.
    enum Auth: Sendable {
        /// The key as the Basic username with an empty password (as Segment sends it).
        case basic(String)
        /// `Authorization: Bearer <key>`.
        case bearer(String)
    }

    /// A server's answer.
    struct Reply: Sendable {
        let status: Int
        let body: String
        var json: JSONValue? { try? JSONParser.parse(body) }
        /// The `message` of a JSON error body.
        var message: String? { json?["message"]?.stringValue }
        var isSuccess: Bool { (200..<300).contains(status) }
    }

    /// Runs `body` with a client for the server at `url`, shutting the client down afterwards.
    ///
    /// The client is `HTTPClient.shared`'s configuration except that a refused connection
    /// fails at once: the shared client retries until the request's deadline, which would
    /// make "is the server running?" take 15 seconds to say.
    static func using<T>(url: String, _ body: (HeraldAPI) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            let result = try await body(try HeraldAPI(url: url, client: client))
            try? await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private init(url: String, client: HTTPClient) throws {
        self.client = client
        var base = url.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let parsed = URL(string: base), let scheme = parsed.scheme, ["http", "https"].contains(scheme.lowercased()), parsed.host != nil else {
            throw CommandFailure("--url \(url) is not an http(s) URL; give the server's address, e.g. --url http://127.0.0.1:8080")
        }
        baseURL = base
    }

    func get(_ path: String, auth: Auth) async throws -> Reply {
        try await send(.GET, path, body: nil, auth: auth)
    }

    func post(_ path: String, json: JSONValue, auth: Auth) async throws -> Reply {
        try await send(.POST, path, body: json.encodedBytes(), auth: auth)
    }

    /// PUT of a text body (a configuration's YAML).
    func put(_ path: String, text: String, auth: Auth) async throws -> Reply {
        try await send(.PUT, path, body: Array(text.utf8), auth: auth, contentType: "application/yaml")
    }

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?, auth: Auth, contentType: String = "application/json") async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        switch auth {
        case .basic(let key): request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):".utf8).base64EncodedString())
        case .bearer(let key): request.headers.add(name: "Authorization", value: "Bearer \(key)")
        }
        request.headers.add(name: "User-Agent", value: "herald-cli/\(HeraldVersion.current)")
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            let response = try await client.execute(request, timeout: .seconds(15))
            let bytes = try await response.body.collect(upTo: 64 << 20)
            return Reply(status: Int(response.status.code), body: String(buffer: bytes))
        } catch {
            throw CommandFailure(describe(error))
        }
    }

    /// A connection failure in words, with what to do.
    private func describe(_ error: any Error) -> String {
        let text = String(describing: error)
        if text.localizedCaseInsensitiveContains("refused") {
            return "cannot connect to \(baseURL) (connection refused): is `herald serve` running at \(baseURL)?"
        }
        if text.contains("connectTimeout") {
            return "cannot connect to \(baseURL) (timed out): is `herald serve` running at \(baseURL), and is the address reachable?"
        }
        if text.contains("deadlineExceeded") || text.contains("readTimeout") {
            return "\(baseURL) did not answer within 15 seconds; check that it is a Herald server and that it is not overloaded"
        }
        return "request to \(baseURL) failed: \(text). Check --url."
    }

    /// `value` escaped for a query string.
    static func query(_ value: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#/")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}
