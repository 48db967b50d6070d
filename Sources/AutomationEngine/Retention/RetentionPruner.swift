public import Foundation
public import Logging
public import ServiceLifecycle
public import SegmentSpec

/// Removes events, messages, runs and refused Segment calls older than the retention age, in
/// the background (`herald serve --retention`), so the database stays the size of the
/// retention window's traffic.
///
/// Off the ingest path: small batches, each its own transaction, with a pause between them
/// so that the group-commit writer is never kept waiting long. What is never removed is in
/// ``RetainedRecord``.
public struct RetentionPruner: Service {
    private let store: any EngineStorage
    private let age: Duration
    private let interval: Duration
    private let batchSize: Int
    private let metrics: EngineMetrics
    private let logger: Logger
    private let now: @Sendable () -> Timestamp

    /// - Parameters:
    ///   - store: the database to prune.
    ///   - age: what is older than this (and finished) is removed.
    ///   - interval: time between passes (the first runs at start).
    ///   - batchSize: records per transaction.
    ///   - metrics: where `herald_retention_pruned_total` is counted.
    ///   - logger: where each pass's removals, or its failure, are reported.
    ///   - now: the clock; `herald prune` and tests pass their own.
    public init(
        store: HeraldStore, age: Duration, interval: Duration = .seconds(600), batchSize: Int = 500, metrics: EngineMetrics = EngineMetrics(),
        logger: Logger, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.store = store
        self.age = age
        self.interval = interval
        self.batchSize = batchSize
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// Prunes now, then every `interval`, until graceful shutdown.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await pruneOnce()
            } catch is CancellationError {
                break
            } catch {
                logger.warning("retention pass failed; will retry", metadata: ["error": "\(store.describe(error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over every kind of record; returns how many of each were removed.
    @discardableResult
    public func pruneOnce() async throws -> [RetainedRecord: Int] {
        let cutoff = Timestamp(millisecondsSince1970: now().millisecondsSince1970 - age.wholeMilliseconds)
        var removed: [RetainedRecord: Int] = [:]
        for kind in RetainedRecord.allCases {
            var total = 0
            while !Task.isShuttingDownGracefully {
                try Task.checkCancellation()
                let batch = try await store.prune(kind, olderThan: cutoff, batchSize: batchSize)
                total += batch
                metrics.pruned(kind.rawValue, count: batch)
                guard batch == batchSize else { break }
                try await Task.sleep(for: .milliseconds(5))  // lets a waiting group commit take the writer
            }
            removed[kind] = total
            if total > 0 {
                logger.info("retention removed old records", metadata: ["kind": "\(kind.rawValue)", "count": "\(total)", "before": "\(cutoff.iso8601)"])
            }
        }
        return removed
    }
}
