import AsyncHTTPClient
import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import SegmentSpec
import Testing

/// `herald serve --retention` and `herald prune` with the real binary: old records go while
/// clients send, and nothing they were acknowledged for is touched.
@Suite("Retention in the server and the prune command", .serialized)
struct RetentionServerTests {
    /// A database holding 300 processed events (and their runs and inbox messages) received
    /// six days ago, and an ingest key.
    static func oldDatabase() async throws -> (path: String, directory: URL, key: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-retention-live-\(UUID().uuidString)")
        let path = directory.appendingPathComponent("herald.sqlite").path
        let store = try HeraldStore.open(path: path)
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        try await store.applyConfiguration(
            yaml: """
                channels: { inbox: { type: inbox } }
                templates: { receipt: { channel: inbox, subject: "Receipt", body: "Thanks" } }
                automations: { receipt: { steps: [ { send: { template: receipt } } ] } }
                mappings: [ { on: track/Order Completed, run: receipt } ]
                """, workspace: "default")
        let writer = GroupCommitWriter(store: store)
        let running = Task { try await writer.run() }
        let sixDaysAgo = Timestamp(millisecondsSince1970: Timestamp(Date()).millisecondsSince1970 - 6 * 86_400_000)
        for n in 0..<300 {
            let json = #"{"type":"track","event":"Order Completed","userId":"old-\#(n % 7)","messageId":"old-\#(n)"}"#
            let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
            _ = try await writer.append([IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: sixDaysAgo)], keyHash: key.secret.hash)
        }
        try await EventProcessor(store: store, now: { sixDaysAgo }).processPending()
        while try await RunWorker(store: store, now: { sixDaysAgo }).executeDue() > 0 {}
        running.cancel()
        return (path, directory, key.secret.plaintext)
    }

    static func count(_ path: String, _ sql: String) throws -> Int {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)  // the server writes the same file meanwhile
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    @Test("serve --retention 1d removes six-day-old events, runs and messages while 16 clients send; every acknowledged event stays")
    func serverPrunesUnderIngest() async throws {
        let (database, directory, key) = try await Self.oldDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try Self.count(database, "SELECT COUNT(*) FROM event") == 300)
        #expect(try Self.count(database, "SELECT COUNT(*) FROM message") == 300)
        let server = try HeraldProcess(database: database, extraArguments: ["--retention", "1d"])
        #expect(server.output.contains("Retention: finished records older than 1d are removed every 10 minutes"))
        let load = ContinuousIngest(port: server.port, key: key, prefix: "new")
        let old = """
            SELECT (SELECT COUNT(*) FROM event WHERE messageId LIKE 'old-%') + (SELECT COUNT(*) FROM run WHERE recipient LIKE 'old-%')
                 + (SELECT COUNT(*) FROM message WHERE recipient LIKE 'old-%')
            """
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, try Self.count(database, old) > 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await load.waitForAcknowledged(300)
        await load.stop()
        #expect(server.terminate() == 0)
        #expect(try Self.count(database, "SELECT COUNT(*) FROM event WHERE messageId LIKE 'old-%'") == 0)
        #expect(try Self.count(database, "SELECT COUNT(*) FROM message WHERE recipient LIKE 'old-%'") == 0)
        #expect(try Self.count(database, "SELECT COUNT(*) FROM run WHERE recipient LIKE 'old-%'") == 0)
        #expect(try Self.count(database, "SELECT COUNT(*) FROM messageStatus WHERE messageId NOT IN (SELECT id FROM message)") == 0)
        let stored = try Self.count(database, "SELECT COUNT(*) FROM event WHERE messageId LIKE 'new-%'")
        let acknowledged = load.acknowledged.count
        #expect(stored == acknowledged, "every acknowledged event is stored (\(stored) of \(acknowledged))")
    }

    @Test("prune --dry-run counts without removing; prune removes the same")
    func pruneCommand() async throws {
        let (database, directory, _) = try await Self.oldDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dry = try HeraldProcess.runToCompletion(["prune", "--older-than", "5d", "--dry-run", "--db", database])
        #expect(dry.status == 0)
        #expect(dry.output.contains("Would remove from \(database) what is older than 5d"))
        #expect(dry.output.contains("events               300"), "\(dry.output)")
        #expect(dry.output.contains("messages             300"))
        #expect(try Self.count(database, "SELECT COUNT(*) FROM event") == 300)
        let younger = try HeraldProcess.runToCompletion(["prune", "--older-than", "7d", "--db", database])
        #expect(younger.output.contains("events                 0"), "\(younger.output)")
        let real = try HeraldProcess.runToCompletion(["prune", "--older-than", "5d", "--db", database])
        #expect(real.status == 0)
        #expect(real.output.contains("Removed from"))
        #expect(real.output.contains("runs                 300"))
        #expect(try Self.count(database, "SELECT COUNT(*) FROM event") == 0)
        let refused = try HeraldProcess.runToCompletionWithError(["prune", "--older-than", "10m", "--db", database])
        #expect(refused.status != 0)
        #expect(refused.errorOutput.contains("an hour or more"))
    }
}
