public import Foundation
public import Logging
public import SegmentSpec
public import ServiceLifecycle

/// Removes counted sends that no frequency cap can count any more (older than the longest
/// cap window of their workspace's configuration), in the background, so the cap ledger
/// stays the size of the caps' windows instead of growing with every send ever counted.
/// Runs whatever the retention setting: the ledger is the caps' bookkeeping, not history.
public struct CapLedgerPruner: Service {
    private let store: any EngineStorage
    private let interval: Duration
    private let logger: Logger
    private let now: @Sendable () -> Timestamp

    /// - Parameters:
    ///   - store: the database whose ledger is pruned.
    ///   - interval: time between passes (the first runs at start).
    ///   - logger: where a pass that removed something, or failed, is reported.
    ///   - now: the clock; tests pass one they move.
    public init(store: HeraldStore, interval: Duration = .seconds(600), logger: Logger, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }) {
        self.store = store
        self.interval = interval
        self.logger = logger
        self.now = now
    }

    /// Prunes now, then every `interval`, until graceful shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let removed = try await store.pruneCapLedger(now: now(), batchSize: 1_000)
                if removed > 0 { logger.info("removed counted sends past every cap's window", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("cap ledger prune failed; will retry", metadata: ["error": "\(store.describe(error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
