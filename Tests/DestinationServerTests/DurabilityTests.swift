import AsyncHTTPClient
import AutomationEngine
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import Testing

@Suite("Durability: a 200 means the event is on disk", .serialized)
struct DurabilityTests {
    static func temporaryDatabase() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-durability-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("herald.sqlite").path
    }

    static func post(port: Int, key: String, messageId: String) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/inbound/segment")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: Payloads.track(messageId, userId: "durable")))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
        return Int(response.status.code)
    }

    @Test("kill -9 mid-stream, restart on the same file: every acknowledged messageId is stored exactly once")
    func killNineLosesNothingAcknowledged() async throws {
        let database = try Self.temporaryDatabase()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: database).deletingLastPathComponent().path) }
        let created = try HeraldProcess.runToCompletion(["keys", "create", "--workspace", "default", "--scope", "ingest", "--db", database])
        #expect(created.status == 0)
        let key = try #require(created.output.split(separator: "\n").last.map(String.init))
        #expect(key.hasPrefix("hk_"))

        let server = try HeraldProcess(database: database)
        let acknowledged = ConcurrentLog<String>()
        let sent = ConcurrentLog<String>()
        let port = server.port
        // 32 concurrent senders, each posting fresh events until the server dies.
        let senders = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<32 {
                    group.addTask {
                        for n in 0..<100_000 {
                            let messageId = "durable-\(worker)-\(n)"
                            sent.append(messageId)
                            guard let status = try? await Self.post(port: port, key: key, messageId: messageId) else { return }
                            if status == 200 { acknowledged.append(messageId) }
                        }
                    }
                }
            }
        }
        // Let a good number of events through, then pull the plug mid-stream.
        while acknowledged.count < 1500 { try await Task.sleep(for: .milliseconds(20)) }
        server.killHard()
        await senders.value
        let acked = acknowledged.values
        #expect(acked.count >= 1500)

        let restarted = try HeraldProcess(database: database)
        // A retry of an acknowledged event after the restart is still recognised as a duplicate.
        #expect(try await Self.post(port: restarted.port, key: key, messageId: acked[0]) == 200)
        let store = try HeraldStore.open(path: database)
        let counts = try await store.messageIdCounts(workspace: "default")
        let missing = acked.filter { counts[$0] == nil }
        let doubled = counts.filter { $0.value > 1 }
        #expect(missing.isEmpty, "acknowledged but not stored: \(missing.prefix(5))")
        #expect(doubled.isEmpty, "stored more than once: \(doubled.prefix(5))")
        // Events that were in flight may be stored without having been acknowledged; never more than were sent.
        #expect(counts.count <= sent.count)

        // Graceful stop: SIGTERM exits 0 after saying so.
        #expect(restarted.terminate() == 0)
        #expect(restarted.output.contains("Herald stopped."))
    }

    @Test("SIGTERM or SIGINT while a request's body is still arriving: that request is answered 200 and stored, exit status 0",
          arguments: [SIGTERM, SIGINT])
    func gracefulShutdownWaitsForARequestInFlight(signal: Int32) async throws {
        let database = try Self.temporaryDatabase()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: database).deletingLastPathComponent().path) }
        let key = try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", "ingest", "--db", database]).output.split(separator: "\n").last.map(String.init))
        let server = try HeraldProcess(database: database)
        let body = Payloads.track("in-flight", userId: "durable")
        let split = body.utf8.count / 2
        let connection = try RawConnection(port: server.port)
        defer { connection.close() }
        connection.send(
            "POST /inbound/segment HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic \(Data("\(key):".utf8).base64EncodedString())\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + String(body.utf8.prefix(split))!)
        try await Task.sleep(for: .seconds(1))  // the server has the request's head and half its body
        server.signal(signal)
        try await Task.sleep(for: .seconds(1))  // and is shutting down
        connection.send(String(body.utf8.dropFirst(split))!)
        let answer = await connection.finishAndRead()
        #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
        #expect(server.waitForExit() == 0)
        let counts = try await HeraldStore.open(path: database).messageIdCounts(workspace: "default")
        #expect(counts["in-flight"] == 1)
    }

    @Test("SIGTERM during a stream of requests: every request answered 200 is stored, exit status 0")
    func gracefulShutdownFinishesInFlight() async throws {
        let database = try Self.temporaryDatabase()
        defer { try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: database).deletingLastPathComponent().path) }
        let key = try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", "ingest", "--db", database]).output.split(separator: "\n").last.map(String.init))
        let server = try HeraldProcess(database: database)
        let acknowledged = ConcurrentLog<String>()
        let port = server.port
        let senders = Task {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<16 {
                    group.addTask {
                        for n in 0..<100_000 {
                            let messageId = "graceful-\(worker)-\(n)"
                            guard let status = try? await Self.post(port: port, key: key, messageId: messageId), status == 200 else { return }
                            acknowledged.append(messageId)
                        }
                    }
                }
            }
        }
        while acknowledged.count < 500 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.terminate() == 0)
        await senders.value
        let counts = try await HeraldStore.open(path: database).messageIdCounts(workspace: "default")
        let acked = acknowledged.values
        #expect(!acked.isEmpty)
        #expect(acked.allSatisfy { counts[$0] == 1 })
    }
}
