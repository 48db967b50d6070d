public import Logging
public import ServiceLifecycle

/// Runs the ``RunWorker`` in the background of the server: executes due steps of pending
/// runs, then sleeps briefly when none is due. On graceful shutdown it finishes the batch in
/// hand (a transaction) and returns; a restart resumes every run where it stopped.
public struct StepWorkerService: Service {
    private let worker: RunWorker
    private let idleInterval: Duration
    private let logger: Logger

    /// - Parameter idleInterval: the pause after a round that found no step due.
    public init(worker: RunWorker, idleInterval: Duration = .milliseconds(100), logger: Logger) {
        self.worker = worker
        self.idleInterval = idleInterval
        self.logger = logger
    }

    /// Executes due steps until graceful shutdown or cancellation.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var busy = false
            do {
                busy = try await worker.executeDue() > 0
            } catch is CancellationError where Task.isCancelled {
                break
            } catch {
                logger.error("step worker round failed; will retry", metadata: ["error": "\(error)"])
            }
            if !busy { try? await cancelWhenGracefulShutdown { try await Task.sleep(for: idleInterval) } }
        }
    }
}
