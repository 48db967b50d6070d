public import Logging
public import ServiceLifecycle

/// Runs the engine in the background of the server: processes new events, executes due
/// run steps and delivers webhook messages, then sleeps briefly when there is nothing to do.
/// Ingest never waits for it; on graceful shutdown it finishes the step in hand and returns.
public struct AutomationService: Service {
    private let processor: EventProcessor
    private let worker: RunWorker
    private let deliverer: WebhookDeliverer
    private let idleInterval: Duration
    private let logger: Logger

    /// Events per engine transaction when it keeps up, and at most when it is behind. While
    /// behind it takes larger transactions: each one waits its turn on the single writer
    /// (which ingest shares) and ends in an fsync, so larger ones let it catch up. The ceiling
    /// bounds memory, as every event of a pass is held in memory: under `make bench`'s batch
    /// load, 2,000 kept the engine within 10,000 events of ingest at 138 MB peak RSS, where
    /// 1,000 fell 20,000 behind (and braked ingest) and 4,000 took 168 MB for no more speed.
    static let smallestBatch = 64
    static let largestBatch = 2_000

    /// - Parameter idleInterval: the pause after a round that found nothing to do.
    public init(processor: EventProcessor, worker: RunWorker, deliverer: WebhookDeliverer, idleInterval: Duration = .milliseconds(100), logger: Logger) {
        self.processor = processor
        self.worker = worker
        self.deliverer = deliverer
        self.idleInterval = idleInterval
        self.logger = logger
    }

    /// Runs rounds of the engine until graceful shutdown or cancellation.
    public func run() async throws {
        var processLimit = Self.smallestBatch
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var busy = false
            do {
                // Small transactions: ingest commits interleave with the engine's instead of queueing behind them.
                // While the engine is behind (every pass fills its batch) the batch doubles, up to
                // `largestBatch`, so it gets its share of the single writer under sustained ingest.
                let processed = try await processor.processPending(limit: processLimit)
                processLimit = processed == processLimit ? min(processLimit * 2, Self.largestBatch) : Self.smallestBatch
                busy = processed > 0
                busy = try await worker.executeDue() > 0 || busy
                busy = try await deliverer.deliverDue() > 0 || busy
            } catch is CancellationError where Task.isCancelled {
                break  // shutting down: a pass cut short is not a failure
            } catch {
                logger.error("automation pass failed; will retry", metadata: ["error": "\(error)"])
            }
            if !busy { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: idleInterval) } }
        }
    }
}
