import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A `herald serve` child process that is a Segment source: its configuration (with a
/// `segment:` section) is applied at start with `--config`, its write key comes from the
/// environment as `HERALD_SECRET_DEFAULT_SEGMENT_WRITE_KEY`, and it may reach loopback
/// receivers. For tests that kill it and start it again on the same database.
struct SourceHerald {
    let directory: URL
    let database: String
    let configPath: String
    let writeKey: String

    /// A fresh folder holding `yaml` as herald.yaml.
    init(yaml: String, writeKey: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-source-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        database = directory.appendingPathComponent("herald.sqlite").path
        configPath = directory.appendingPathComponent("herald.yaml").path
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        self.writeKey = writeKey
    }

    /// Starts the server (again).
    func start() throws -> HeraldProcess {
        try HeraldProcess(
            database: database, extraArguments: ["--config", configPath, "--allow-destination", "127.0.0.1", "--segment-lease", "2s"],
            environment: ["HERALD_SECRET_DEFAULT_SEGMENT_WRITE_KEY": writeKey])
    }

    /// The ingest key printed by the first start.
    static func ingestKey(of process: HeraldProcess) throws -> String {
        let line = try #require(process.output.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("ingest ") })
        return try #require(line.split(separator: " ").last.map(String.init))
    }

    /// Sends one track event to the server.
    static func track(_ process: HeraldProcess, key: String, event: String, user: String, messageId: String) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(process.port)/v1/track")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.body = .bytes(ByteBuffer(string: #"{"event":"\#(event)","userId":"\#(user)","messageId":"\#(messageId)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status.code == 200)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
