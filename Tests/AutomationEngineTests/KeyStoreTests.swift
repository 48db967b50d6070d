import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("API keys: random, hashed, scoped, revocable")
struct KeyStoreTests {
    @Test("keys are recognisable, unique, and only their hash and prefix are stored")
    func creation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("k.sqlite").path
        let store = try HeraldStore.open(path: path)
        let a = try await store.createKey(workspace: "prod", scope: .ingest)
        let b = try await store.createKey(workspace: "prod", scope: .admin)
        #expect(a.secret.plaintext.hasPrefix("hk_"))
        #expect(a.secret.plaintext.count == 43)
        #expect(a.secret.plaintext != b.secret.plaintext)
        #expect(a.record.id == String(a.secret.plaintext.prefix(11)))
        let fileBytes = try Data(contentsOf: URL(fileURLWithPath: path)) + ((try? Data(contentsOf: URL(fileURLWithPath: path + "-wal"))) ?? Data())
        #expect(fileBytes.range(of: Data(a.secret.plaintext.utf8)) == nil)
        #expect(try await store.identity(for: a.secret) == KeyIdentity(keyId: a.record.id, workspaceId: "prod", scope: .ingest))
        #expect(try await store.identity(for: APIKeySecret(plaintext: a.secret.plaintext + "x")) == nil)
    }

    @Test("bootstrap creates default with one key of each scope, once")
    func bootstrap() async throws {
        let store = try HeraldStore.inMemory()
        let first = try await store.bootstrapIfEmpty()
        #expect(first.map(\.record.scope) == [.ingest, .admin])
        #expect(first.allSatisfy { $0.record.workspaceId == "default" })
        #expect(try await store.bootstrapIfEmpty().isEmpty)
    }

    @Test("revocation makes a key unknown; revoking an unknown id says so")
    func revoke() async throws {
        let store = try HeraldStore.inMemory()
        let key = try await store.createKey(workspace: "w", scope: .admin)
        let revoked = try await store.revokeKey(id: key.record.id)
        #expect(revoked.revokedAt != nil)
        #expect(try await store.identity(for: key.secret) == nil)
        await #expect(throws: KeyStoreError.unknownKey("hk_nothere")) { try await store.revokeKey(id: "hk_nothere") }
    }

    @Test("workspace names are checked")
    func workspaceNames() async throws {
        let store = try HeraldStore.inMemory()
        await #expect(throws: KeyStoreError.invalidWorkspaceName("no spaces")) { try await store.createKey(workspace: "no spaces", scope: .ingest) }
        await #expect(throws: KeyStoreError.unknownWorkspace("ghost")) { try await store.setRateLimit(workspace: "ghost", eventsPerSecond: 1) }
    }
}
