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

    public init(processor: EventProcessor, worker: RunWorker, deliverer: WebhookDeliverer, idleInterval: Duration = .milliseconds(100), logger: Logger) {
        self.processor = processor
        self.worker = worker
        self.deliverer = deliverer
        self.idleInterval = idleInterval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var busy = false
            do {
                // Small transactions: ingest commits interleave with the engine's instead of queueing behind them.
                busy = try await processor.processPending(limit: 64) > 0
                busy = try await worker.executeDue() > 0 || busy
                busy = try await deliverer.deliverDue() > 0 || busy
            } catch {
                logger.error("automation pass failed; will retry", metadata: ["error": "\(error)"])
            }
            if !busy { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: idleInterval) } }
        }
    }
}
