public import CoreMetrics

/// The engine's metrics, through swift-metrics: the server passes the factory of its
/// Prometheus registry, so they appear at `/metrics`; a library user passes their own (or
/// gets `MetricsSystem.factory`).
public struct EngineMetrics: Sendable {
    private let factory: any MetricsFactory

    /// Metrics made by `factory`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// A message reached `status` on `channel` (its type: webhook, inbox, log).
    func message(channel: String, status: MessageStatus) {
        Counter(label: "herald_messages_total", dimensions: [("channel", channel), ("status", status.rawValue)], factory: factory).increment()
    }

    /// One delivery attempt on `channel` took `duration`.
    func deliveryAttempt(channel: String, duration: Duration) {
        Timer(label: "herald_delivery_duration_seconds", dimensions: [("channel", channel)], factory: factory)
            .recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Deliveries in flight to `endpoint` now.
    func inFlight(endpoint: DeliveryEndpoint, count: Int) {
        Gauge(label: "herald_deliveries_in_flight", dimensions: [("endpoint", endpoint.description)], factory: factory).record(count)
    }

    /// Endpoints whose circuit breaker is open now.
    func openBreakers(_ count: Int) {
        Gauge(label: "herald_open_circuit_breakers", factory: factory).record(count)
    }

    /// A run of `automation` started (`pending`), completed, was cancelled or failed.
    func run(automation: String, state: String) {
        Counter(label: "herald_runs_total", dimensions: [("automation", automation), ("state", state)], factory: factory).increment()
    }

    /// Steps executed by the step worker.
    func stepsExecuted(_ count: Int) {
        guard count > 0 else { return }
        Counter(label: "herald_steps_executed_total", factory: factory).increment(by: count)
    }

    /// Events stored but not yet processed by the engine.
    func engineLag(events: Int) {
        Gauge(label: "herald_engine_lag_events", factory: factory).record(events)
    }
}
