@testable import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Synchronization
import Testing

/// The engine reaches storage only through `EngineStorage` and its transaction protocols:
/// GRDB appears only in the SQLite implementation's folder, and a stand-in backend can take
/// the place of `HeraldStore` without the engine knowing.
@Suite("Store seam: the engine speaks to storage only through its protocols")
struct StoreSeamTests {
    @Test("GRDB is imported only by the SQLite implementation (Sources/AutomationEngine/Store/)")
    func grdbOnlyUnderStore() throws {
        let sources = FixtureFiles.directory.deletingLastPathComponent().appendingPathComponent("Sources")
        let store = sources.appendingPathComponent("AutomationEngine/Store").standardizedFileURL.path + "/"
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil))
        var swiftFiles = 0
        var outside: [String] = []
        for case let url as URL in files where url.pathExtension == "swift" {
            swiftFiles += 1
            let text = try String(contentsOf: url, encoding: .utf8)
            let importsGRDB = text.split(separator: "\n").contains { line in
                line.split(separator: " ").last == "GRDB" && line.contains("import ")
            }
            if importsGRDB && !url.standardizedFileURL.path.hasPrefix(store) { outside.append(url.lastPathComponent) }
        }
        #expect(swiftFiles > 50)
        #expect(outside.isEmpty, "GRDB imported outside Store/: \(outside)")
    }

    @Test("a stand-in backend whose event transaction fails leaves nothing half-written; the processor goes on when it recovers")
    func standInBackend() async throws {
        let store = try HeraldStore.inMemory()
        try await store.applyConfiguration(
            yaml: try FixtureFiles.text("herald.yaml"), workspace: "default",
            secrets: SecretEnvironment(variables: ["HERALD_SECRET_DEFAULT_EMAIL_HOOK": "x"]))
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        let json = #"{"type":"identify","userId":"u-seam","traits":{"email":"a@example.com"},"messageId":"seam-1"}"#
        let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
        let entry = IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: EngineHarness.now)
        let outcomes = try await store.appendSubmissions([(key.secret.hash, [entry])], dedupWindow: 600_000)
        guard case .success(let appended) = try #require(outcomes.first), case .accepted = try #require(appended.first) else {
            Issue.record("the event was not appended")
            return
        }

        let failing = FailingCommitStorage(wrapping: store)
        let processor = EventProcessor(storage: failing, now: { EngineHarness.now })
        await #expect(throws: FailingCommitStorage.Failure.self) { try await processor.processPending() }
        // The body ran (a profile and a run were written inside it) and was rolled back.
        #expect(failing.bodiesRun.withLock { $0 } == 1)
        #expect(try await store.profileTraits(workspace: "default", id: "u-seam") == nil)
        #expect(try await store.runs(workspace: "default").isEmpty)

        failing.fail.withLock { $0 = false }
        #expect(try await processor.processPending() == 1)
        #expect(try await store.profileTraits(workspace: "default", id: "u-seam")?["email"] == "a@example.com")
        #expect(try await store.runs(workspace: "default").count == 1)
        #expect(try await processor.processPending() == 0)
    }
}

/// A backend that forwards to a real store, but can make the event processor's write
/// transaction throw after its body ran, as a lost connection at commit would.
private final class FailingCommitStorage: EngineStorage {
    struct Failure: Error {}
    let base: HeraldStore
    let fail = Mutex(true)
    let bodiesRun = Mutex(0)

    init(wrapping base: HeraldStore) { self.base = base }

    func writeEventEffects<T: Sendable>(_ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T {
        let fail = self.fail.withLock { $0 }
        return try await base.writeEventEffects { [self] transaction in
            let result = try body(transaction)
            self.bodiesRun.withLock { $0 += 1 }
            if fail { throw Failure() }
            return result
        }
    }

    func appendSubmissions(
        _ submissions: [(keyHash: Data?, events: [IngestEvent])], dedupWindow: Int64
    ) async throws -> [Result<[AppendOutcome], IngestError>] {
        try await base.appendSubmissions(submissions, dedupWindow: dedupWindow)
    }
    func keyIsValid(hash: Data) async throws -> Bool { try await base.keyIsValid(hash: hash) }
    func pruneDedupKeys(olderThan cutoff: Timestamp, batchSize: Int) async throws -> Int {
        try await base.pruneDedupKeys(olderThan: cutoff, batchSize: batchSize)
    }
    func prune(_ kind: RetainedRecord, olderThan cutoff: Timestamp, batchSize: Int) async throws -> Int {
        try await base.prune(kind, olderThan: cutoff, batchSize: batchSize)
    }
    func countPrunable(_ kind: RetainedRecord, olderThan cutoff: Timestamp) async throws -> Int {
        try await base.countPrunable(kind, olderThan: cutoff)
    }
    func pruneCapLedger(now: Timestamp, batchSize: Int) async throws -> Int {
        try await base.pruneCapLedger(now: now, batchSize: batchSize)
    }
    func readEventEffects<T: Sendable>(_ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T {
        try await base.readEventEffects(body)
    }
    func replayEventEffects<T: Sendable>(keep: Bool, _ body: @escaping @Sendable (any EventTransaction) throws -> T) async throws -> T {
        try await base.replayEventEffects(keep: keep, body)
    }
    func rehearse<T: Sendable>(_ body: @escaping @Sendable (any RehearsalTransaction) throws -> T) async throws -> T {
        try await base.rehearse(body)
    }
    func hasDueSteps(at ms: Int64) async throws -> Bool { try await base.hasDueSteps(at: ms) }
    func nextStepDue() async throws -> Timestamp? { try await base.nextStepDue() }
    func writeSteps<T: Sendable>(_ body: @escaping @Sendable (any StepTransaction) throws -> T) async throws -> T {
        try await base.writeSteps(body)
    }
    func hasDueMessages(now: Int64) async throws -> Bool { try await base.hasDueMessages(now: now) }
    func recordAndClaim(_ records: [DeliveryRecord], now: Int64, capacity: DeliveryCapacity, leaseUntil: Int64) async throws -> [ClaimedMessage] {
        try await base.recordAndClaim(records, now: now, capacity: capacity, leaseUntil: leaseUntil)
    }
    func configuration(workspace: String, version: Int) async throws -> HeraldConfiguration? {
        try await base.configuration(workspace: workspace, version: version)
    }
    func isolatedForDryRun() -> any EngineStorage { base.isolatedForDryRun() }
    func describe(_ error: any Error) -> String { base.describe(error) }
}
