public import Foundation
public import Logging
public import SegmentSpec
public import ServiceLifecycle
import Synchronization

/// Delivers queued messages: claims due ones with a lease, attempts them concurrently through
/// their channels, and records each outcome (DESIGN §3, "Delivery").
///
/// - Concurrency is bounded per endpoint (a channel of a workspace: its `concurrency:`, 16 by
///   default) and in total, so a slow endpoint holds at most its own share of the service.
/// - Isolation: an endpoint at its bound, or whose circuit breaker is open, is left out of
///   the next claims, so its messages wait while everyone else's flow.
/// - Exactly one `sent` per message: a message is leased while it is attempted (its channel's
///   timeout plus a margin); a crash mid-attempt leaves the lease to expire and the message is
///   attempted again under the same id, which channels send as their idempotency key.
/// - Outcomes are written in the same transaction as the next claim: one commit (and one
///   fsync) per round of the loop, not one per message.
public final class DeliveryService: Service, Sendable {
    /// Bounds and timings of delivery.
    public struct Options: Sendable {
        /// Attempts in flight at once, across all endpoints.
        public var maximumInFlight = 256
        /// Attempts in flight to one endpoint unless its channel sets `concurrency:`.
        public var defaultEndpointConcurrency = 16
        /// Attempts before a message is given up as undeliverable.
        public var maximumAttempts = 8
        /// Backoff before the first retry; each later one doubles (with jitter), up to an hour.
        public var initialBackoff: Duration = .seconds(1)
        /// How long a claim holds a message: a message whose attempt outlives it (the process
        /// died) is attempted again. Keep it above the longest channel timeout (60 s).
        public var lease: Duration = ChannelSettings.maximumTimeout + .seconds(10)
        /// The pause when nothing is due.
        public var idleInterval: Duration = .milliseconds(50)
        /// The pause between rounds while attempts are in flight.
        public var busyInterval: Duration = .milliseconds(2)
        /// On graceful shutdown, how long attempts in flight may still finish.
        public var shutdownGrace: Duration = .seconds(5)

        /// The defaults.
        public init() {}
    }

    private let store: any EngineStorage
    private let channels: ChannelDirectory
    private let options: Options
    private let metrics: EngineMetrics
    private let logger: Logger
    private let now: @Sendable () -> Timestamp
    private let state = Mutex(State())

    /// What the loop and the attempts in flight share.
    private struct State {
        var inFlight: [DeliveryEndpoint: Int] = [:]
        var totalInFlight = 0
        var breakers: [DeliveryEndpoint: CircuitBreaker] = [:]
        /// Each endpoint's bound on attempts in flight, as its channel last said.
        var bounds: [DeliveryEndpoint: Int] = [:]
        /// Outcomes waiting to be written with the next claim.
        var finished: [DeliveryRecord] = []
        /// Messages being attempted, so a shutdown can hand them back.
        var attempting: Set<String> = []
    }

    /// A delivery service for `store`'s queued messages.
    /// - Parameters:
    ///   - channels: makes the channel that delivers each configured channel.
    ///   - now: the clock; tests pass one they control.
    public init(
        store: HeraldStore, channels: ChannelDirectory, options: Options = Options(), metrics: EngineMetrics = EngineMetrics(),
        logger: Logger = Logger(label: "herald.delivery"), now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.store = store
        self.channels = channels
        self.options = options
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    /// Delivers until graceful shutdown; then lets attempts in flight finish for
    /// ``Options/shutdownGrace``, records them, and hands the rest back for the next start.
    public func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let started: Int
                do {
                    started = try await round(group: &group)
                } catch {
                    logger.error("delivery round failed; will retry", metadata: ["error": "\(error)"])
                    started = 0
                }
                let busy = state.withLock { $0.totalInFlight > 0 || !$0.finished.isEmpty }
                let pause = started > 0 || busy ? options.busyInterval : options.idleInterval
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
            let deadline = ContinuousClock.now + options.shutdownGrace
            while state.withLock({ $0.totalInFlight > 0 }) && ContinuousClock.now < deadline && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(10))
            }
            group.cancelAll()
        }
        // Attempts cut short are handed back (due now, no attempt counted) with the outcomes that came in.
        let (finished, unfinished) = state.withLock { state in
            let records = state.finished
            state.finished = []
            let back = state.attempting
            state.attempting = []
            return (records, back)
        }
        let time = now().millisecondsSince1970
        let handBack = unfinished.filter { id in !finished.contains { $0.id == id } }.map { DeliveryRecord(id: $0, attempt: 0, change: .postpone(at: time)) }
        do {
            // In a task of its own: when the service was cancelled rather than shut down
            // gracefully, this last write must still happen.
            let store = store
            _ = try await Task { try await store.recordAndClaim(finished + handBack, now: time, capacity: .none, leaseUntil: time) }.value
        } catch {
            logger.error("could not record the last deliveries; they will be attempted again", metadata: ["error": "\(error)"])
        }
    }

    /// Attempts every due message once and waits for the outcomes; for tests and tools that
    /// drive delivery without running the service. Returns how many were attempted.
    @discardableResult
    public func deliverDue() async throws -> Int {
        var attempted = 0
        var failure: (any Error)?
        await withDiscardingTaskGroup { group in
            while failure == nil {
                do {
                    let started = try await round(group: &group)
                    attempted += started
                    if started == 0 && state.withLock({ $0.totalInFlight == 0 }) { break }
                    try await Task.sleep(for: options.busyInterval)
                } catch {
                    failure = error
                }
            }
        }
        if let failure { throw failure }
        try await flush()
        return attempted
    }

    /// One round: writes the outcomes that came in, claims what endpoints can take, starts
    /// those attempts. Returns how many started.
    private func round(group: inout DiscardingTaskGroup) async throws -> Int {
        let claimed = try await claim()
        var started = 0
        var postponed: [DeliveryRecord] = []
        let time = now().millisecondsSince1970
        for claim in claimed {
            let message = claim.message
            let endpoint = DeliveryEndpoint(workspace: message.workspace, channel: message.channel)
            let resolved: (channel: any DeliveryChannel, settings: ChannelSettings)?
            do {
                resolved = try await channels.channel(named: message.channel, workspace: message.workspace, version: claim.configVersion, store: store)
            } catch {
                refuse(message, reason: "configuration version \(claim.configVersion) cannot be read: \(error)")
                continue
            }
            guard let resolved else {
                refuse(message, reason: "channel `\(message.channel)` is not a delivery channel of configuration version \(claim.configVersion)")
                continue
            }
            // Claims can exceed what an endpoint takes (a claim is global) or meet a breaker
            // that opened since: those go back, due when the endpoint can take them.
            let admitted = state.withLock { state -> Int64? in
                state.bounds[endpoint] = resolved.settings.concurrency
                if state.inFlight[endpoint, default: 0] >= resolved.settings.concurrency { return time + 50 }
                var breaker = state.breakers[endpoint, default: CircuitBreaker()]
                guard breaker.allowsAttempt(at: time) else { return breaker.reopensAt(now: time) ?? time + 1_000 }
                state.breakers[endpoint] = breaker
                state.inFlight[endpoint, default: 0] += 1
                state.totalInFlight += 1
                state.attempting.insert(message.id)
                return nil
            }
            if let later = admitted {
                postponed.append(DeliveryRecord(id: message.id, attempt: message.attempt - 1, change: .postpone(at: later)))
                continue
            }
            metrics.inFlight(endpoint: endpoint, count: state.withLock { $0.inFlight[endpoint, default: 0] })
            started += 1
            group.addTask {
                let start = ContinuousClock.now
                let outcome = await resolved.channel.deliver(message)
                // An outcome that came back is recorded even during shutdown (a 2xx handed back
                // would be sent again); an attempt cut short is handed back by `run()`.
                self.finish(message, endpoint: endpoint, outcome: outcome, duration: ContinuousClock.now - start, channelType: resolved.settings.type)
            }
        }
        if !postponed.isEmpty { state.withLock { $0.finished.append(contentsOf: postponed) } }
        return started
    }

    /// Writes the outcomes that came in.
    private func flush() async throws {
        let records = state.withLock { state in
            defer { state.finished = [] }
            return state.finished
        }
        let time = now().millisecondsSince1970
        _ = try await store.recordAndClaim(records, now: time, capacity: .none, leaseUntil: time)
    }

    /// Writes the outcomes that came in and claims as many due messages as the endpoints not
    /// at their bound (and not broken) can take.
    private func claim() async throws -> [ClaimedMessage] {
        let time = now().millisecondsSince1970
        let (records, capacity) = state.withLock { state -> ([DeliveryRecord], DeliveryCapacity) in
            let records = state.finished
            state.finished = []
            // What each endpoint with attempts in flight, or a breaker, can take now.
            // (An endpoint's bound, its channel's `concurrency`, is learnt at its first claim;
            // until then the default applies, and what it cannot take goes back.)
            var endpoints: [DeliveryEndpoint: Int] = [:]
            for (endpoint, bound) in state.bounds { endpoints[endpoint] = bound - state.inFlight[endpoint, default: 0] }
            for (endpoint, count) in state.inFlight where state.bounds[endpoint] == nil {
                endpoints[endpoint] = options.defaultEndpointConcurrency - count
            }
            for (endpoint, breaker) in state.breakers where breaker.reopensAt(now: time) != nil { endpoints[endpoint] = 0 }
            let capacity = DeliveryCapacity(
                total: min(options.maximumInFlight - state.totalInFlight, 500), endpoints: endpoints, otherwise: options.defaultEndpointConcurrency)
            return (records, capacity)
        }
        if records.isEmpty {
            guard capacity.total > 0, try await store.hasDueMessages(now: time) else { return [] }
        }
        do {
            return try await store.recordAndClaim(records, now: time, capacity: capacity, leaseUntil: time + options.lease.wholeMilliseconds)
        } catch {
            state.withLock { $0.finished.insert(contentsOf: records, at: 0) }  // written with the next claim
            throw error
        }
    }

    /// Records a claimed message that was never attempted as undeliverable: no counter or
    /// breaker was touched for it, so none is here.
    private func refuse(_ message: OutgoingMessage, reason: String) {
        state.withLock { $0.finished.append(DeliveryRecord(id: message.id, attempt: message.attempt, change: .final(.undeliverable, reason: reason))) }
        metrics.message(channel: "unknown", status: .undeliverable)
        logger.warning("message undeliverable", metadata: ["message": "\(message.id)", "reason": "\(reason)"])
    }

    /// Turns an attempt's outcome into what is recorded, and updates its endpoint's breaker.
    private func finish(_ message: OutgoingMessage, endpoint: DeliveryEndpoint, outcome: DeliveryOutcome, duration: Duration, channelType: String) {
        let time = now().millisecondsSince1970
        let change: DeliveryRecord.Change
        switch outcome {
        case .sent(let reason):
            change = .final(.sent, reason: reason)
        case .undeliverable(let reason):
            change = .final(.undeliverable, reason: reason)
        case .retry(let reason) where message.attempt >= options.maximumAttempts:
            change = .final(.undeliverable, reason: "\(reason); gave up after \(message.attempt) attempts")
        case .retry(let reason):
            let base = Double(options.initialBackoff.wholeMilliseconds) * pow(2, Double(message.attempt - 1))
            change = .retry(reason: reason, at: time + Int64(min(base, 3_600_000) * Double.random(in: 0.8...1.2)))
        }
        let (inFlight, openBreakers) = state.withLock { state -> (Int, Int) in
            state.finished.append(DeliveryRecord(id: message.id, attempt: message.attempt, change: change))
            state.attempting.remove(message.id)
            state.totalInFlight -= 1
            state.inFlight[endpoint, default: 1] -= 1
            let count = state.inFlight[endpoint] ?? 0
            if count == 0 { state.inFlight[endpoint] = nil }
            var breaker = state.breakers[endpoint, default: CircuitBreaker()]
            breaker.record(success: outcome.endpointAnswered, at: time)
            state.breakers[endpoint] = breaker.state == .closed(failures: 0) ? nil : breaker
            return (count, state.breakers.values.filter(\.isOpen).count)
        }
        metrics.inFlight(endpoint: endpoint, count: inFlight)
        metrics.openBreakers(openBreakers)
        metrics.deliveryAttempt(channel: channelType, duration: duration)
        if case .final(let status, let reason) = change {
            metrics.message(channel: channelType, status: status)
            if status != .sent {
                // A warning: a message that will never arrive needs an operator's attention.
                logger.warning("message undeliverable", metadata: ["message": "\(message.id)", "endpoint": "\(endpoint)", "reason": "\(reason)"])
            }
        } else if case .retry(let reason, _) = change {
            logger.info("delivery attempt failed; will retry", metadata: ["message": "\(message.id)", "attempt": "\(message.attempt)", "reason": "\(reason)"])
        }
    }
}
