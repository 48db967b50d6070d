import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import SegmentSpec
import Testing

/// `once_per` means once per user (or group), ever: not once per position of the mapping in
/// the file.
@Suite("once_per: keyed by what a mapping is, so edits to the file never run it twice")
struct OncePerIdentityTests {
    static let automations = """
        channels: { inbox: { type: inbox } }
        templates: { hello: { channel: inbox, body: "Welcome" } }
        automations:
          welcome: { steps: [ { send: hello } ] }
          other: { steps: [ { send: hello } ] }
        """

    static func identify(_ user: String, _ id: String) -> String {
        #"{"type":"identify","userId":"\#(user)","traits":{"plan":"free"},"messageId":"\#(id)"}"#
    }

    @Test("comment lines above, reordered mappings and a second mapping of the same automation: no second run")
    func editsDoNotRunAgain() async throws {
        let engine = try await EngineHarness.make()
        try await engine.store.applyConfiguration(yaml: Self.automations + """

            mappings:
              - on: identify
                once_per: user
                run: welcome
            """, workspace: "default", secrets: .none)
        try await engine.send(Self.identify("u-1", "i-1"))
        #expect(try await engine.store.runs(workspace: "default").filter { $0.automation == "welcome" }.count == 1)

        try await engine.store.applyConfiguration(yaml: Self.automations + """

            # Three comment lines
            # push every mapping
            # further down the file.
            mappings:
              - on: track/Something Else
                run: other
              - on: identify
                when: 'traits.plan == "free"'
                once_per: user
                run: welcome
              - on: identify
                once_per: user
                run: welcome
            """, workspace: "default", secrets: .none)
        let again = try await engine.send(Self.identify("u-1", "i-2"))
        #expect(try await engine.store.runs(workspace: "default").filter { $0.automation == "welcome" }.count == 1)
        let results = try await engine.trace(again)["mappings"]?.arrayValue?.compactMap { $0["result"]?.stringValue } ?? []
        #expect(results == ["once_per user: already ran on 2026-11-18", "once_per user: already ran on 2026-11-18"], "\(results)")

        // A user who never had it still gets it, once.
        try await engine.send(Self.identify("u-2", "i-3"))
        #expect(try await engine.store.runs(workspace: "default").filter { $0.automation == "welcome" && $0.recipient == "u-2" }.count == 1)
    }

    @Test("an explicit `id:` keeps the ledger when the mapping changes automation; ids must be unique")
    func explicitIdentity() async throws {
        let engine = try await EngineHarness.make()
        try await engine.store.applyConfiguration(yaml: Self.automations + """

            mappings:
              - id: onboarding
                on: identify
                once_per: user
                run: welcome
            """, workspace: "default", secrets: .none)
        try await engine.send(Self.identify("u-1", "i-1"))
        try await engine.store.applyConfiguration(yaml: Self.automations + """

            mappings:
              - id: onboarding
                on: identify
                once_per: user
                run: other
            """, workspace: "default", secrets: .none)
        let again = try await engine.send(Self.identify("u-1", "i-2"))
        #expect(try await engine.store.runs(workspace: "default").count == 1)
        #expect(try await engine.trace(again)["mappings"]?[0]?["result"] == "once_per user: already ran on 2026-11-18")
        #expect(throws: ConfigurationError.self) {
            try ConfigurationLoader.load(yaml: Self.automations + "\nmappings:\n  - { id: a, on: identify, run: welcome }\n  - { id: a, on: group, run: other }\n", secrets: .none)
        }
    }

    @Test("ledger rows written under the old line-numbered keys are carried over by the migration")
    func migrationCarriesLedgerOver() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("herald.sqlite").path
        do {
            // A database as the previous release left it: old keys, and the new migration not yet run.
            _ = try HeraldStore.open(path: path)
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v10:%'")
                try db.execute(sql: """
                    INSERT INTO oncePerLedger (workspaceId, mappingKey, subject, ranAt) VALUES
                    ('default', '7:identify->welcome', 'u-1', 1795000000000),
                    ('default', '12:identify->welcome', 'u-1', 1796000000000),
                    ('default', '3:track/A:B->other', 'u-9', 1795000000000)
                    """)
            }
            try queue.close()
        }
        let store = try HeraldStore.open(path: path)
        let engine = try await EngineHarness.make(store: store)
        try await store.applyConfiguration(yaml: Self.automations + """

            mappings:
              - on: identify
                once_per: user
                run: welcome
              - on: track/A:B
                once_per: user
                run: other
            """, workspace: "default", secrets: .none)
        let identify = try await engine.send(Self.identify("u-1", "i-1"))
        #expect(try await engine.trace(identify)["mappings"]?[0]?["result"] == "once_per user: already ran on 2026-11-18")
        let track = try await engine.send(#"{"type":"track","event":"A:B","userId":"u-9","messageId":"t-1"}"#)
        #expect(try await engine.trace(track)["mappings"]?[0]?["result"] == "once_per user: already ran on 2026-11-18")
        #expect(try await store.runs(workspace: "default").isEmpty)
    }
}
