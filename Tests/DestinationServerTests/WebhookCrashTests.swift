import AsyncHTTPClient
import AutomationEngine
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@Suite("Webhook delivery across a crash", .serialized)
struct WebhookCrashTests {
    /// Idempotency keys the receiver saw, in order; the first request is answered slowly.
    final class SlowFirstReceiver: Sendable {
        let keys = Mutex<[String]>([])

        func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
            let router = Router()
            router.post("hook") { request, _ -> Response in
                _ = try await request.body.collect(upTo: 1 << 20)
                let count = self.keys.withLock { keys -> Int in
                    keys.append(request.headers[HTTPField.Name("Idempotency-Key")!] ?? "")
                    return keys.count
                }
                if count == 1 { try await Task.sleep(for: .seconds(5)) }  // Herald is killed meanwhile (within ~100 ms)
                return Response(status: .ok)
            }
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            return try await app.test(.live) { client in try await body(try #require(client.port)) }
        }
    }

    @Test("kill -9 while a webhook POST is in flight: after restart the message ends sent, under one Idempotency-Key")
    func killDuringDelivery() async throws {
        let receiver = SlowFirstReceiver()
        try await receiver.run { port in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-webhook-crash-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = directory.appendingPathComponent("herald.sqlite").path
            let config = directory.appendingPathComponent("herald.yaml")
            try """
                channels:
                  hook: { type: webhook, url: "http://127.0.0.1:\(port)/hook", timeout: 30s }
                templates:
                  ping: { channel: hook, body: "ping" }
                automations:
                  pinger: { steps: [ { send: ping } ] }
                mappings:
                  - on: track/Ping
                    run: pinger
                """.write(to: config, atomically: true, encoding: .utf8)
            #expect(try HeraldProcess.runToCompletion(["apply", "-f", config.path, "--db", database]).status == 0)
            let key = try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", "ingest", "--db", database]).output.split(separator: "\n").last.map(String.init))

            let first = try HeraldProcess(database: database, extraArguments: ["--allow-destination", "127.0.0.1", "--delivery-lease", "2s"])
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(first.port)/v1/track")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(key)")
            request.body = .bytes(ByteBuffer(string: #"{"event":"Ping","userId":"u-1"}"#))
            #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code == 200)
            for _ in 0..<200 where receiver.keys.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(50)) }
            #expect(receiver.keys.withLock { $0.count } == 1)
            first.killHard()  // the POST is in flight: Herald never learned its outcome

            let second = try HeraldProcess(database: database, environment: ["HERALD_ALLOW_DESTINATIONS": "127.0.0.1"])  // the same allow-list, from the environment
            let store = try HeraldStore.open(path: database)
            var status = ""
            for _ in 0..<200 {
                status = try await store.messages(workspace: "default").first?.status.rawValue ?? ""
                if status == "sent" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == "sent")
            let keys = receiver.keys.withLock { $0 }
            #expect(keys.count == 2)  // the retry after the restart
            #expect(Set(keys).count == 1)  // both under the same Idempotency-Key: a receiver that honours it acts once
            #expect(second.terminate() == 0)
        }
    }
}
