public import CoreMetrics
import Synchronization

/// The engine's metrics, through swift-metrics: the server passes the factory of its
/// Prometheus registry, so they appear at `/metrics`; a library user passes their own (or
/// gets `MetricsSystem.factory`).
///
/// Each labelled series is made once and kept: the engine records several metrics per message,
/// and asking the factory again each time costs a registry look-up under its lock.
public struct EngineMetrics: Sendable {
    private let factory: any MetricsFactory
    private let series = SeriesCache()

    /// Metrics made by `factory`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// A message reached `status` on `channel` (its type: webhook, inbox, log).
    func message(channel: String, status: MessageStatus) {
        counter("herald_messages_total", [("channel", channel), ("status", status.rawValue)]).increment()
    }

    /// One delivery attempt on `channel` took `duration`.
    func deliveryAttempt(channel: String, duration: Duration) {
        let timer = series.timers.withLock { timers in
            let key = SeriesKey(label: "herald_delivery_duration_seconds", dimensions: [("channel", channel)])
            if let known = timers[key] { return known }
            let made = Timer(label: key.label, dimensions: key.dimensionPairs, factory: factory)
            timers[key] = made
            return made
        }
        timer.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Deliveries in flight to `endpoint` now.
    func inFlight(endpoint: DeliveryEndpoint, count: Int) {
        gauge("herald_deliveries_in_flight", [("endpoint", endpoint.description)]).record(count)
    }

    /// Endpoints whose circuit breaker is open now.
    func openBreakers(_ count: Int) {
        gauge("herald_open_circuit_breakers", []).record(count)
    }

    /// A run of `automation` started (`pending`), completed, was cancelled or failed.
    func run(automation: String, state: String) {
        counter("herald_runs_total", [("automation", automation), ("state", state)]).increment()
    }

    /// Records of `kind` removed by retention.
    func pruned(_ kind: String, count: Int) {
        guard count > 0 else { return }
        counter("herald_retention_pruned_total", [("kind", kind)]).increment(by: count)
    }

    /// An event joined a digest another run collects (instead of starting a run of `automation`).
    func digested(automation: String) {
        counter("herald_digest_items_joined_total", [("automation", automation)]).increment()
    }

    /// A send was deferred, by `reason`: `send_window`, `limit` or `throttle`.
    func deferred(reason: String) {
        counter("herald_messages_deferred_total", [("reason", reason)]).increment()
    }

    /// A send was skipped by a control, by `reason`: `limit` or `throttle` (preferences count
    /// in `herald_messages_total{status="skipped"}`).
    func skipped(reason: String) {
        counter("herald_messages_skipped_total", [("reason", reason)]).increment()
    }

    /// Steps executed by the step worker.
    func stepsExecuted(_ count: Int) {
        guard count > 0 else { return }
        counter("herald_steps_executed_total", []).increment(by: count)
    }

    /// Events stored but not yet processed by the engine.
    func engineLag(events: Int) {
        gauge("herald_engine_lag_events", []).record(events)
    }

    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        series.counters.withLock { counters in
            let key = SeriesKey(label: label, dimensions: dimensions)
            if let known = counters[key] { return known }
            let made = Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = made
            return made
        }
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)]) -> Gauge {
        series.gauges.withLock { gauges in
            let key = SeriesKey(label: label, dimensions: dimensions)
            if let known = gauges[key] { return known }
            let made = Gauge(label: label, dimensions: dimensions, factory: factory)
            gauges[key] = made
            return made
        }
    }

    /// Calls in the Segment outbox: waiting to be sent (its depth), and refused for good.
    func outboxDepth(pending: Int, rejected: Int) {
        Gauge(label: "herald_segment_outbox_depth", factory: factory).record(pending)
        Gauge(label: "herald_segment_outbox_rejected", factory: factory).record(rejected)
    }

    /// Calls Segment took.
    func outboxSent(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "herald_segment_calls_total", dimensions: [("result", "sent")], factory: factory).increment(by: count)
    }

    /// Calls Segment refused for good.
    func outboxRejected(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "herald_segment_calls_total", dimensions: [("result", "rejected")], factory: factory).increment(by: count)
    }
}

/// A metric's name and labels.
private struct SeriesKey: Hashable {
    let label: String
    let dimensions: [String]

    init(label: String, dimensions: [(String, String)]) {
        self.label = label
        self.dimensions = dimensions.flatMap { [$0.0, $0.1] }
    }

    var dimensionPairs: [(String, String)] {
        stride(from: 0, to: dimensions.count, by: 2).map { (dimensions[$0], dimensions[$0 + 1]) }
    }
}

/// The series an ``EngineMetrics`` made, shared by its copies.
private final class SeriesCache: Sendable {
    let counters = Mutex<[SeriesKey: Counter]>([:])
    let gauges = Mutex<[SeriesKey: Gauge]>([:])
    let timers = Mutex<[SeriesKey: Timer]>([:])
}
