import Foundation
public import Logging
import SegmentSpec
public import ServiceLifecycle

/// Runs the ``RunWorker`` in the background of the server: executes due steps of pending
/// runs, then sleeps briefly when none is due. On graceful shutdown it finishes the batch in
/// hand (a transaction) and returns; a restart resumes every run where it stopped.
public struct StepWorkerService: Service {
    private let worker: RunWorker
    private let store: any EngineStorage
    private let idleInterval: Duration
    private let logger: Logger

    /// - Parameters:
    ///   - worker: what executes the due steps.
    ///   - store: where the worker looks for the next due time.
    ///   - idleInterval: the longest pause after a round that found no step due: the
    ///     worker sleeps until the next pending step is due, or this long, whichever is sooner
    ///     (runs that events start are due at once, and are found within this pause).
    ///   - logger: where a failed round is reported.
    public init(worker: RunWorker, store: HeraldStore, idleInterval: Duration = .milliseconds(20), logger: Logger) {
        self.worker = worker
        self.store = store
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
            guard !busy else { continue }
            // A fixed pause would make every step up to a pause late; sleep to the next due time.
            var pause = idleInterval
            if let next = try? await store.nextStepDue() {
                let wait = Duration.milliseconds(next.millisecondsSince1970 - Timestamp(Date()).millisecondsSince1970)
                pause = min(pause, max(.milliseconds(1), wait))
            }
            let sleep = pause
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: sleep) }
        }
    }
}
