import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import Logging
import SegmentSpec
import Testing

/// The cap ledger keeps only what a cap can still count.
@Suite("Cap ledger: counted sends past every cap's window are removed, the others stay")
struct CapLedgerPrunerTests {
    static let capped = """
        channels: { inbox: { type: inbox } }
        templates: { note: { channel: inbox, body: "note" } }
        limits: [ { channel: inbox, max: 2, per: 1h } ]
        automations: { note: { steps: [ { send: note } ] } }
        mappings: [ { on: track/Note, run: note } ]
        """

    @Test("sends older than the longest window go; a cap still holds with what stays; without caps the ledger empties")
    func prunesPastTheWindow() async throws {
        let engine = try await RetentionTests.Harness.make()
        defer { engine.remove() }
        try await engine.store.applyConfiguration(yaml: Self.capped, workspace: "default")
        func note(_ id: String) async throws { try await engine.send(#"{"type":"track","event":"Note","userId":"u-1","messageId":"\#(id)"}"#) }
        let pruner = CapLedgerPruner(store: engine.store, logger: Logger(label: "test"), now: { engine.clock.now })
        let ledger = "SELECT COUNT(*) FROM sendLedger"
        let skipped = "SELECT COUNT(*) FROM message WHERE status = 'skipped'"

        try await note("a")
        try await note("b")
        engine.clock.advance(.seconds(50 * 60))
        try await note("c")  // third within the hour: skipped, not counted
        #expect(try await engine.count(skipped) == 1)
        #expect(try await engine.count(ledger) == 2)
        #expect(try await engine.store.pruneCapLedger(now: engine.clock.now, batchSize: 1) == 0, "both still inside the window")

        engine.clock.advance(.seconds(11 * 60))
        #expect(try await engine.store.pruneCapLedger(now: engine.clock.now, batchSize: 1) == 2)
        #expect(try await engine.count(ledger) == 0)
        try await note("d")
        try await note("e")
        try await note("f")  // the cap still holds with the new sends
        #expect(try await engine.count(skipped) == 2)
        #expect(try await engine.store.pruneCapLedger(now: engine.clock.now, batchSize: 10) == 0)
        #expect(try await engine.count(ledger) == 2)

        // Without caps nothing can count them: the service's pass empties the ledger.
        try await engine.store.applyConfiguration(yaml: Self.capped.replacingOccurrences(of: "limits: [ { channel: inbox, max: 2, per: 1h } ]\n", with: ""), workspace: "default")
        let service = Task { try await pruner.run() }
        for _ in 0..<100 where try await engine.count(ledger) > 0 { try await Task.sleep(for: .milliseconds(20)) }
        service.cancel()
        #expect(try await engine.count(ledger) == 0)
    }
}
