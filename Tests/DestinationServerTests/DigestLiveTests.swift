import AsyncHTTPClient
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// Digests in a real `herald serve` child process: events posted concurrently over 32
/// connections, and a restart of the server in the middle of a digest's window.
@Suite("Digests in a herald serve process: concurrency and a restart mid-window", .serialized)
struct DigestLiveTests {
    static let yaml = """
        channels:
          inbox: { type: inbox }
        templates:
          comments:
            channel: inbox
            subject: "{{digest.count}} new comments"
            body: "{{#digest.items}}{{data.n}},{{/digest.items}}"
        automations:
          comment-digest:
            steps:
              - digest: { window: 1h, key: "{{data.thread_id}}", max_items: 200 }
              - send: comments
          batched-digest:
            steps:
              - digest: { window: 1h, key: "{{data.thread_id}}", max_items: 50 }
              - send: comments
        mappings:
          - on: track/Comment Added
            run: comment-digest
          - on: track/Comment Batched
            run: batched-digest
        """

    /// A client that opens up to 32 connections to the server.
    static func client() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Posts events `numbers` to `/v1/track` from 32 concurrent lanes; returns their statuses.
    static func post(_ event: String, _ numbers: ClosedRange<Int>, user: String, port: Int, key: String, client: HTTPClient) async throws -> [Int] {
        let all = Array(numbers)
        return try await withThrowingTaskGroup(of: [Int].self) { group in
            for lane in 0..<32 {
                group.addTask {
                    var statuses: [Int] = []
                    for index in stride(from: lane, to: all.count, by: 32) {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/track")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):".utf8).base64EncodedString())
                        request.headers.add(name: "Content-Type", value: "application/json")
                        let n = all[index]
                        let body = #"{"event":"\#(event)","userId":"\#(user)","messageId":"\#(event)-\#(n)","properties":{"thread_id":"t-1","n":\#(n)}}"#
                        request.body = .bytes(ByteBuffer(string: body))
                        statuses.append(Int(try await client.execute(request, timeout: .seconds(30)).status.code))
                    }
                    return statuses
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    static func api(_ path: String, port: Int, key: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)" + path)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return try JSONParser.parse(Array(buffer: try await response.body.collect(upTo: 8 << 20)))
    }

    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        for _ in 0..<400 {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    @Test("200 events for one recipient and key from 32 connections, with a restart after the first 100, make exactly one digest of 200 items; with max_items 50, four")
    func oneDigest() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-digest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("herald.sqlite").path
        let config = directory.appendingPathComponent("herald.yaml")
        try Self.yaml.write(to: config, atomically: true, encoding: .utf8)
        func key(_ scope: String) throws -> String {
            try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", scope, "--db", database]).output.split(separator: "\n").last.map(String.init))
        }
        let ingestKey = try key("ingest")
        let adminKey = try key("admin")
        let client = Self.client()
        var process = try HeraldProcess(database: database, extraArguments: ["--config", config.path])
        let first = try await Self.post("Comment Added", 1...100, user: "u-1", port: process.port, key: ingestKey, client: client)
        #expect(first.count == 100 && first.allSatisfy { $0 == 200 })
        // Every event processed (the last one's trace is written) before the restart.
        #expect(try await Self.eventually {
            try await Self.api("/api/events?messageId=Comment%20Added-100", port: process.port, key: adminKey)["events"]?[0]?["explain"] != .null
        })
        #expect(process.terminate() == 0)
        process = try HeraldProcess(database: database, extraArguments: ["--config", config.path])
        let port = process.port
        let second = try await Self.post("Comment Added", 101...200, user: "u-1", port: port, key: ingestKey, client: client)
        #expect(second.count == 100 && second.allSatisfy { $0 == 200 })
        // The 200th item fills the digest (max_items 200): it goes out at once, as one message.
        #expect(try await Self.eventually {
            try await Self.api("/api/messages?channel=inbox", port: port, key: adminKey)["messages"]?.arrayValue?.count == 1
        })
        let message = try await Self.api("/api/messages?channel=inbox", port: port, key: adminKey)["messages"]?[0]
        #expect(message?["subject"] == "200 new comments")
        let numbers = Set((message?["body"]?.stringValue ?? "").split(separator: ",").map(String.init))
        #expect(numbers == Set((1...200).map(String.init)))
        #expect(try await Self.api("/api/runs?automation=comment-digest", port: port, key: adminKey)["runs"]?.arrayValue?.count == 1)

        // max_items 50: ⌈200 / 50⌉ = 4 digests of 50, each sent when full.
        let batched = try await Self.post("Comment Batched", 1...200, user: "u-2", port: port, key: ingestKey, client: client)
        #expect(batched.allSatisfy { $0 == 200 })
        #expect(try await Self.eventually {
            try await Self.api("/api/messages?channel=inbox&userId=u-2", port: port, key: adminKey)["messages"]?.arrayValue?.count == 4
        })
        let subjects = try await Self.api("/api/messages?channel=inbox&userId=u-2", port: port, key: adminKey)["messages"]?.arrayValue?.map { $0["subject"] }
        #expect(subjects == Array(repeating: "50 new comments", count: 4))
        #expect(try await Self.api("/api/runs?automation=batched-digest", port: port, key: adminKey)["runs"]?.arrayValue?.count == 4)
        #expect(process.terminate() == 0)
        try await client.shutdown()
    }
}
