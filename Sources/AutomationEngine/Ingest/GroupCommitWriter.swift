public import Foundation
import SegmentSpec
public import ServiceLifecycle
import Synchronization

/// The single writer of the event log: requests hand it their events and wait; it appends
/// everything that arrived since its last commit in one transaction (group commit) and
/// answers each request when that transaction is on disk.
///
/// One fsync serves many concurrent requests, which is what makes durable single-event
/// ingest fast. Run it as a `Service`; on graceful shutdown it stops taking submissions,
/// writes what is queued, and returns.
public final class GroupCommitWriter: Service, Sendable {
    /// Tuning of the writer.
    public struct Options: Sendable {
        /// Events allowed to wait for a commit before new requests get `queueFull` (503).
        public var queueCapacity: Int = 50_000
        /// Most events in one transaction; the rest wait for the next one.
        public var maximumEventsPerCommit: Int = 5_000
        /// How long a messageId is remembered for deduplication (Segment retries for 4 hours).
        public var dedupWindow: Duration = .seconds(7 * 24 * 3600)

        /// Default options.
        public init() {}
    }

    /// Reports each commit: how many events it wrote and how long the transaction took.
    public typealias CommitObserver = @Sendable (_ events: Int, _ duration: Duration) -> Void

    private struct Submission: Sendable {
        let keyHash: Data?
        let events: [IngestEvent]
        let continuation: CheckedContinuation<[AppendOutcome], any Error>
    }

    private struct State: ~Copyable {
        var pending: [Submission] = []
        var pendingEvents = 0
        var wakeWriter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    private let store: any EngineStorage
    private let options: Options
    private let observer: CommitObserver?
    private let handoff: ParsedEventHandoff?
    private let backlog: EngineBacklog?
    private let state = Mutex(State())

    /// A writer appending to `store`.
    ///
    /// - Parameters:
    ///   - handoff: where committed events are handed to the engine's ``EventProcessor`` so
    ///     it does not parse them again; nil when no engine runs beside it.
    ///   - backlog: the engine's progress; commits are held while it is too far behind.
    public init(
        store: HeraldStore, options: Options = Options(), handoff: ParsedEventHandoff? = nil, backlog: EngineBacklog? = nil,
        observer: CommitObserver? = nil
    ) {
        self.store = store
        self.options = options
        self.handoff = handoff
        self.backlog = backlog
        self.observer = observer
    }

    /// Appends `events` durably; returns one outcome per event once they are committed.
    ///
    /// - Parameter keyHash: hash of the key that authenticated the request. It is checked
    ///   again inside the transaction so a key revoked meanwhile (even by another process)
    ///   writes nothing. Nil for a request authenticated without a key (a workspace's
    ///   signature, checked against the secret in force just before).
    /// - Throws: ``IngestError``.
    public func append(_ events: [IngestEvent], keyHash: Data?) async throws -> [AppendOutcome] {
        guard !events.isEmpty else {
            guard let keyHash else { return [] }
            // Nothing to write, but a key revoked since it was cached must still be refused.
            let valid: Bool
            do {
                valid = try await store.keyIsValid(hash: keyHash)
            } catch {
                throw IngestError.storeUnavailable("\(error)")
            }
            guard valid else { throw IngestError.keyRevoked }
            return []
        }
        return try await withCheckedThrowingContinuation { continuation in
            let submission = Submission(keyHash: keyHash, events: events, continuation: continuation)
            let (refusal, wake) = state.withLock { state -> (IngestError?, CheckedContinuation<Void, Never>?) in
                if state.closed { return (.shuttingDown, nil) }
                // A request larger than the whole queue is still taken when the queue is empty.
                if state.pendingEvents > 0 && state.pendingEvents + events.count > options.queueCapacity { return (.queueFull, nil) }
                state.pending.append(submission)
                state.pendingEvents += events.count
                let wake = state.wakeWriter
                state.wakeWriter = nil
                return (nil, wake)
            }
            if let refusal {
                continuation.resume(throwing: refusal)
            } else {
                wake?.resume()
            }
        }
    }

    /// Commits batches until graceful shutdown, then drains the queue and returns.
    /// Cancellation (another service failed, e.g. the port was taken) closes it the same way,
    /// so the process can exit instead of waiting for submissions that will never come.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while true {
                    // Hold while the engine is too far behind (bounded; see EngineBacklog), then
                    // take everything that queued meanwhile as one commit. Never while closing:
                    // what is queued then is written at once.
                    await backlog?.waitForRoom { self.state.withLock { $0.closed } }
                    guard let batch = await nextBatch() else { break }
                    await commit(batch)
                }
            } onGracefulShutdown: {
                self.close()
            }
        } onCancel: {
            self.close()
        }
    }

    /// Stops taking submissions; queued ones are still written.
    public func close() {
        let wake = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            let wake = state.wakeWriter
            state.wakeWriter = nil
            return wake
        }
        wake?.resume()
    }

    /// Waits for submissions; nil once closed and drained.
    private func nextBatch() async -> [Submission]? {
        while true {
            let taken = state.withLock { state -> (batch: [Submission], finished: Bool) in
                guard !state.pending.isEmpty else { return ([], state.closed) }
                var count = 0
                var split = 0
                while split < state.pending.count && (split == 0 || count + state.pending[split].events.count <= options.maximumEventsPerCommit) {
                    count += state.pending[split].events.count
                    split += 1
                }
                let batch = Array(state.pending[..<split])
                state.pending.removeFirst(split)
                state.pendingEvents -= count
                return (batch, false)
            }
            if !taken.batch.isEmpty { return taken.batch }
            if taken.finished { return nil }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if !state.pending.isEmpty || state.closed { return true }
                    state.wakeWriter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        }
    }

    private func commit(_ batch: [Submission]) async {
        let window = options.dedupWindow.wholeMilliseconds
        let work = batch.map { (keyHash: $0.keyHash, events: $0.events) }
        let clock = ContinuousClock()
        let start = clock.now
        let results: Result<[Result<[AppendOutcome], IngestError>], any Error>
        do {
            results = .success(try await store.appendSubmissions(work, dedupWindow: window))
        } catch {
            results = .failure(error)
        }
        observer?(work.reduce(0) { $0 + $1.events.count }, clock.now - start)
        switch results {
        case .success(let outcomes):
            // Before the answers, so an engine pass started by a caller sees these events.
            if let backlog, let last = Self.lastAppended(outcomes) { backlog.appended(through: last) }
            if let handoff { handoff.offer(Self.committedEntries(batch, outcomes)) }
            for (submission, outcome) in zip(batch, outcomes) {
                submission.continuation.resume(with: outcome.mapError { $0 as any Error })
            }
        case .failure(let error):
            let reason = store.describe(error)
            for submission in batch {
                submission.continuation.resume(throwing: IngestError.storeUnavailable(reason))
            }
        }
    }

    /// The events a commit appended, in log order; erasure requests are not handed on (the
    /// log keeps only a record without personal data for them).
    private static func committedEntries(_ batch: [Submission], _ outcomes: [Result<[AppendOutcome], IngestError>]) -> [ParsedEventHandoff.Entry] {
        var entries: [ParsedEventHandoff.Entry] = []
        for (submission, outcome) in zip(batch, outcomes) {
            guard case .success(let appended) = outcome else { continue }
            for (event, result) in zip(submission.events, appended) {
                if case .accepted(let seq) = result, event.type != .delete {
                    entries.append(.init(stored: StoredEvent(seq: seq, appended: event), event: event.event))
                }
            }
        }
        return entries
    }

    /// The last log position a commit wrote, if it wrote any.
    private static func lastAppended(_ outcomes: [Result<[AppendOutcome], IngestError>]) -> Int64? {
        var last: Int64?
        for case .success(let appended) in outcomes {
            for case .accepted(let seq) in appended { last = max(last ?? seq, seq) }
        }
        return last
    }
}
