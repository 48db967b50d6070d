public import Foundation
public import Logging
public import SegmentClient
public import SegmentSpec
public import ServiceLifecycle
import Synchronization

/// Sends the outbox's calls to each workspace's Segment source (DESIGN §5): claims due calls
/// with a lease, sends them per workspace in batches through `SegmentClient`, and records
/// what became of them with the next claim.
///
/// - Nothing lost: a call leaves the outbox only once Segment answered 2xx. Segment down,
///   a 429, a 5xx, an unresolved write key: the call waits (with backoff) and is sent again.
/// - Nothing invented or doubled: each call has had its messageId since it was written, and
///   every attempt sends that id (Segment deduplicates by it). A crash mid-send leaves the
///   lease to expire; the calls are sent again under the same ids.
/// - A refusal (400) is final for the calls it concerns, logged and kept as `rejected`; when
///   a batch of several calls is refused, each is sent again alone, so one bad call does not
///   take the others with it. The outbox goes on.
public final class SegmentOutboxService: Service, Sendable {
    /// Bounds and timings.
    public struct Options: Sendable {
        /// Calls claimed per round.
        public var claimLimit = 500
        /// How long a claim holds its calls; keep it above the client's longest series of attempts.
        public var lease: Duration = .seconds(120)
        /// The pause when nothing is due.
        public var idleInterval: Duration = .milliseconds(200)
        /// The wait before a failed call is sent again; doubles with each attempt, up to ``maximumBackoff``.
        public var initialBackoff: Duration = .seconds(5)
        /// The longest wait before a failed call is sent again.
        public var maximumBackoff: Duration = .seconds(3600)
        /// The client's retries within one send.
        public var retry = SegmentRetryPolicy()
        /// Time allowed for each request.
        public var timeout: Duration = .seconds(15)

        /// The defaults.
        public init() {}
    }

    private let store: HeraldStore
    private let transport: any SegmentTransport
    private let options: Options
    private let metrics: EngineMetrics
    private let logger: Logger
    private let now: @Sendable () -> Timestamp
    private let sleep: @Sendable (Duration) async throws -> Void
    /// When the depth was last counted: a deep outbox (Segment down for hours) is not counted every round.
    private let depthReportedAt = Mutex<ContinuousClock.Instant?>(nil)

    /// A sender of `store`'s outbox.
    /// - Parameters:
    ///   - transport: what requests go through (Herald passes ``OutboundSegmentTransport``).
    ///   - sleep: how the client waits between attempts (tests pass one that does not sleep).
    public init(
        store: HeraldStore, transport: any SegmentTransport, options: Options = Options(), metrics: EngineMetrics = EngineMetrics(),
        logger: Logger = Logger(label: "herald.segment"), now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.store = store
        self.transport = transport
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.now = now
        self.sleep = sleep
    }

    /// Sends until graceful shutdown; a send in progress finishes (it is bounded by the
    /// client's attempts) and is recorded.
    public func run() async throws {
        var pending: [OutboxSettlement] = []
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            var claimed = 0
            do {
                (claimed, pending) = try await round(settling: pending)
            } catch {
                logger.error("Segment outbox round failed; will retry", metadata: ["error": "\(error)"])
            }
            if claimed == 0 {
                let pause = options.idleInterval
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
        if !pending.isEmpty {
            let store = store
            let time = now().millisecondsSince1970
            _ = try? await Task { try await store.settleAndClaimOutbox(pending, now: time, limit: 0, leaseUntil: time) }.value
        }
    }

    /// Sends every due call once and records the results; for tests and tools. Returns how
    /// many calls were sent (whatever became of them).
    @discardableResult
    public func sendDue() async throws -> Int {
        var total = 0
        var pending: [OutboxSettlement] = []
        while true {
            let (claimed, settlements) = try await round(settling: pending)
            pending = settlements
            total += claimed
            if claimed == 0 { break }
        }
        return total
    }

    /// Records `settlements`, claims due calls, sends them; returns how many were claimed and
    /// their settlements (recorded with the next claim: one transaction per round).
    private func round(settling settlements: [OutboxSettlement]) async throws -> (Int, [OutboxSettlement]) {
        let time = now().millisecondsSince1970
        if settlements.isEmpty {
            guard try await store.hasDueOutboxCalls(now: time) else {
                await reportDepth()
                return (0, [])
            }
        }
        let claimed = try await store.settleAndClaimOutbox(
            settlements, now: time, limit: options.claimLimit, leaseUntil: time + options.lease.wholeMilliseconds)
        guard !claimed.isEmpty else {
            await reportDepth()
            return (0, [])
        }
        var results: [OutboxSettlement] = []
        for (workspace, entries) in Dictionary(grouping: claimed, by: \.workspace).sorted(by: { $0.key < $1.key }) {
            results += await send(entries, workspace: workspace)
        }
        await reportDepth()
        return (claimed.count, results)
    }

    /// Sets the depth gauges, at most once a second (a failure to count is only logged: the
    /// round's results must still be recorded).
    private func reportDepth() async {
        let now = ContinuousClock.now
        let due = depthReportedAt.withLock { last -> Bool in
            guard last.map({ now - $0 >= .seconds(1) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        do {
            let counts = try await store.outboxCounts()
            metrics.outboxDepth(pending: counts.pending, rejected: counts.rejected)
        } catch {
            logger.warning("could not count the Segment outbox", metadata: ["error": "\(error)"])
        }
    }

    /// Sends one workspace's claimed calls; returns what to record for each.
    private func send(_ entries: [OutboxEntry], workspace: String) async -> [OutboxSettlement] {
        let time = now().millisecondsSince1970
        let destination: SegmentDestination?
        do {
            destination = try await store.segmentDestination(workspace: workspace)
        } catch {
            return entries.map { retry($0, at: time, reason: "the workspace's configuration cannot be read: \(error)") }
        }
        guard let destination else {
            // The workspace stopped sending to Segment (its `segment:` was removed): these are kept, not sent.
            logger.notice("Segment calls not sent: the workspace has no `segment:` any more", metadata: ["workspace": "\(workspace)", "calls": "\(entries.count)"])
            return entries.map { .rejected(id: $0.id, reason: "workspace \(workspace) has no `segment:` in its configuration any more") }
        }
        guard !destination.writeKeyIsUnresolved else {
            logger.error("Segment write key is not set in the server's environment; calls wait", metadata: ["workspace": "\(workspace)"])
            return entries.map { retry($0, at: time, reason: "the write key's secret is not set in the server's environment") }
        }
        let client = SegmentClient(
            configuration: .init(writeKey: destination.writeKey, endpoint: destination.endpoint, retry: options.retry, timeout: options.timeout),
            transport: transport, sleep: sleep)
        var byMessageId: [String: OutboxEntry] = [:]
        var together: [SegmentMessage] = []
        var alone: [SegmentMessage] = []
        var settlements: [OutboxSettlement] = []
        for entry in entries {
            do {
                let message = try SegmentMessage(json: entry.call)
                byMessageId[message.messageId] = entry
                if entry.alone { alone.append(message) } else { together.append(message) }
            } catch {
                settlements.append(.rejected(id: entry.id, reason: "not a Segment call: \(error)"))
                logger.error("Segment call refused before sending", metadata: ["workspace": "\(workspace)", "messageId": "\(entry.messageId)", "reason": "\(error)"])
            }
        }
        var results = together.isEmpty ? [] : await client.send(together)
        for message in alone { results.append(await client.send(message)) }
        for result in results {
            let batch = result.messageIds.compactMap { byMessageId[$0] }
            switch result.outcome {
            case .accepted:
                settlements += batch.map { .sent(id: $0.id) }
                metrics.outboxSent(batch.count)
            case .rejected(let status, let reason) where batch.count > 1 && status == 400:
                logger.warning("Segment refused a batch; its calls are sent again one by one",
                               metadata: ["workspace": "\(workspace)", "calls": "\(batch.count)", "reason": "\(reason)"])
                settlements += batch.map { .retry(id: $0.id, at: time, reason: reason, alone: true) }
            case .rejected(let status, let reason) where status == nil || status == 400 || status == 413:
                logger.error("Segment refused a call; it is not sent again",
                             metadata: ["workspace": "\(workspace)", "messageIds": "\(result.messageIds.joined(separator: ","))", "reason": "\(reason)"])
                settlements += batch.map { .rejected(id: $0.id, reason: reason) }
                metrics.outboxRejected(batch.count)
            case .rejected(_, let reason):
                // 401, 403, 404...: the write key or endpoint is wrong; the calls wait until it is fixed.
                logger.error("Segment refused the write key or endpoint; calls wait", metadata: ["workspace": "\(workspace)", "reason": "\(reason)"])
                settlements += batch.map { retry($0, at: time, reason: reason) }
            case .failed(let reason, let retryAfter):
                logger.warning("Segment did not take calls; they will be sent again", metadata: ["workspace": "\(workspace)", "reason": "\(reason)"])
                settlements += batch.map { retry($0, at: time, reason: reason, after: retryAfter) }
            }
        }
        return settlements
    }

    /// A retry of `entry` after its backoff (or `after`, when Segment asked for longer).
    private func retry(_ entry: OutboxEntry, at time: Int64, reason: String, after: Duration? = nil) -> OutboxSettlement {
        let base = Double(options.initialBackoff.wholeMilliseconds) * pow(2, Double(min(entry.attempts, 30)))
        var wait = Int64(min(base, Double(options.maximumBackoff.wholeMilliseconds)) * Double.random(in: 0.5...1))
        if let after { wait = max(wait, after.wholeMilliseconds) }
        return .retry(id: entry.id, at: time + wait, reason: reason, alone: entry.alone)
    }
}
