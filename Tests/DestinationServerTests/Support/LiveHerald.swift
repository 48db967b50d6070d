import AsyncHTTPClient
import AutomationEngine
import DestinationServer
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// A real Herald server on a loopback port over a real SQLite file, for one test.
struct LiveHerald: Sendable {
    let store: HeraldStore
    let ingestKey: String
    let adminKey: String
    let baseURL: String
    let port: Int

    /// Starts Herald on a fresh database in a temporary folder and runs `body` against it.
    static func run<T: Sendable>(
        configure: (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (LiveHerald) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
        let keys = try await store.bootstrapIfEmpty()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.logLevel = .warning
        configure(&configuration)
        let app = try buildApplication(configuration, store: store)
        return try await app.test(.live) { client in
            let port = try #require(client.port)
            let herald = LiveHerald(
                store: store,
                ingestKey: keys.first { $0.record.scope == .ingest }!.secret.plaintext,
                adminKey: keys.first { $0.record.scope == .admin }!.secret.plaintext,
                baseURL: "http://127.0.0.1:\(port)", port: port)
            return try await body(herald)
        }
    }

    /// An answer from the server.
    struct Reply: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: String
        var json: JSONValue? { try? JSONParser.parse(body) }
        var message: String? { json?["message"]?.stringValue }
        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    /// How a request authenticates.
    enum Auth: Sendable {
        case basic(String, password: String = "")
        case bearer(String)
        case none
    }

    /// POSTs `body` to `path`.
    func post(_ path: String, _ body: [UInt8], auth: Auth, headers: [(String, String)] = []) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        switch auth {
        case .basic(let key, let password):
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):\(password)".utf8).base64EncodedString())
        case .bearer(let key):
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
        case .none:
            break
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await send(request)
    }

    /// POSTs a JSON text to `path`.
    func post(_ path: String, _ text: String, auth: Auth, headers: [(String, String)] = []) async throws -> Reply {
        try await post(path, Array(text.utf8), auth: auth, headers: headers)
    }

    /// GETs `path`.
    func get(_ path: String, auth: Auth = .none) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        switch auth {
        case .basic(let key, let password):
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):\(password)".utf8).base64EncodedString())
        case .bearer(let key): request.headers.add(name: "Authorization", value: "Bearer \(key)")
        case .none: break
        }
        return try await send(request)
    }

    /// Sends `method` to `path` with an optional text body (JSON unless `contentType` says otherwise).
    func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, auth: Auth, contentType: String = "application/json",
        headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        switch auth {
        case .basic(let key, let password):
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):\(password)".utf8).base64EncodedString())
        case .bearer(let key): request.headers.add(name: "Authorization", value: "Bearer \(key)")
        case .none: break
        }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        return try await send(request)
    }

    private func send(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: body))
    }
}
