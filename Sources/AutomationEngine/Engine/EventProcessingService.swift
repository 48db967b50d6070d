public import Logging
public import ServiceLifecycle

/// Runs the ``EventProcessor`` in the background of the server: follows the event log behind
/// ingest, then sleeps briefly when it has caught up. Ingest never waits for it; on graceful
/// shutdown it finishes the transaction in hand and returns.
public struct EventProcessingService: Service {
    private let processor: EventProcessor
    private let backlog: EngineBacklog?
    private let idleInterval: Duration
    private let metrics: EngineMetrics
    private let logger: Logger

    /// Events per engine transaction when it keeps up, and at most when it is behind. While
    /// behind it takes larger transactions: each one waits its turn on the single writer
    /// (which ingest shares) and ends in an fsync, so larger ones let it catch up. The ceiling
    /// bounds memory, as every event of a pass is held in memory: under `make bench`'s batch
    /// load, 2,000 kept the engine within 10,000 events of ingest at 138 MB peak RSS, where
    /// 1,000 fell 20,000 behind (and braked ingest) and 4,000 took 168 MB for no more speed.
    static let smallestBatch = 64
    static let largestBatch = 2_000

    /// - Parameters:
    ///   - processor: what applies each event's effects.
    ///   - backlog: the writer's flow control, read for the engine-lag metric.
    ///   - idleInterval: the pause after a pass that found nothing to do.
    ///   - metrics: where the engine lag is recorded.
    ///   - logger: where a failed pass is reported.
    public init(
        processor: EventProcessor, backlog: EngineBacklog? = nil, idleInterval: Duration = .milliseconds(100), metrics: EngineMetrics = EngineMetrics(),
        logger: Logger
    ) {
        self.processor = processor
        self.backlog = backlog
        self.idleInterval = idleInterval
        self.metrics = metrics
        self.logger = logger
    }

    /// Processes events until graceful shutdown or cancellation.
    public func run() async throws {
        var limit = Self.smallestBatch
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var busy = false
            do {
                // Small transactions: ingest commits interleave with the engine's instead of queueing behind them.
                // While the engine is behind (every pass fills its batch) the batch doubles, up to
                // `largestBatch`, so it gets its share of the single writer under sustained ingest.
                let processed = try await processor.processPending(limit: limit)
                limit = processed == limit ? min(limit * 2, Self.largestBatch) : Self.smallestBatch
                busy = processed > 0
                if let lag = backlog?.lag { metrics.engineLag(events: Int(lag)) }
            } catch is CancellationError where Task.isCancelled {
                break  // shutting down: a pass cut short is not a failure
            } catch {
                logger.error("event processing pass failed; will retry", metadata: ["error": "\(error)"])
            }
            if !busy { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: idleInterval) } }
        }
    }
}
