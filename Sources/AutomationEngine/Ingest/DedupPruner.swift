import Foundation
public import Logging
public import ServiceLifecycle
import SegmentSpec

/// Removes dedup keys older than the window, in the background, so the dedup index stays
/// the size of the window's traffic instead of growing forever.
public struct DedupPruner: Service {
    private let store: any EngineStorage
    private let window: Duration
    private let interval: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - store: the database whose dedup keys are pruned.
    ///   - window: how long a messageId is remembered.
    ///   - interval: time between prunes.
    ///   - logger: where each prune's count, or its failure, is reported.
    public init(store: HeraldStore, window: Duration, interval: Duration = .seconds(600), logger: Logger) {
        self.store = store
        self.window = window
        self.interval = interval
        self.logger = logger
    }

    /// Prunes now and then every `interval` until graceful shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let cutoff = Timestamp(millisecondsSince1970: Timestamp(Date()).millisecondsSince1970 - window.wholeMilliseconds)
            do {
                let removed = try await store.pruneDedupKeys(olderThan: cutoff, batchSize: 1_000)
                if removed > 0 { logger.info("pruned expired dedup keys", metadata: ["count": "\(removed)"]) }
            } catch {
                logger.warning("dedup prune failed; will retry", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
