import Prometheus
import SegmentSpec
import Synchronization

/// Herald's Prometheus metrics, served at `/metrics`.
///
/// A registry per application (not the global `MetricsSystem`), so several applications
/// in one test process keep separate counts.
public final class HeraldMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let commitEvents: ValueHistogram
    private let commitDuration: DurationHistogram
    /// Series already made, by label values: the registry validates names and help text and
    /// takes its lock on every `make...` call, which cost 2% of the server's CPU per request.
    private let requestSeries = Mutex<[RequestLabels: (count: Counter, duration: DurationHistogram)]>([:])
    private let eventCounters = Mutex<[EventLabels: Counter]>([:])

    private struct RequestLabels: Hashable {
        let route: String
        let status: Int
    }

    private struct EventLabels: Hashable {
        let type: String
        let outcome: String
    }

    /// A fresh set of metrics, in a registry of its own.
    public init() {
        commitEvents = registry.makeValueHistogram(
            descriptor: Self.name("commit_batch", unit: "events", help: "Events written per group-commit transaction"),
            buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000])
        commitDuration = registry.makeDurationHistogram(
            descriptor: Self.name("commit_duration", unit: "seconds", help: "Duration of a group-commit transaction, fsync included"),
            buckets: [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1)])
    }

    private static func name(_ metric: String, unit: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "herald", metricName: metric, unitName: unit, helpText: help)
    }

    private static var requests: MetricNameDescriptor { name("http_requests", unit: "total", help: "HTTP requests by route and status") }
    private static var requestDuration: MetricNameDescriptor { name("http_request_duration", unit: "seconds", help: "HTTP request latency by route") }
    private static var events: MetricNameDescriptor { name("events", unit: "total", help: "Events received by type and outcome (accepted, duplicate, rejected)") }

    /// Counts one answered request.
    func recordRequest(route: String, status: Int, duration: Duration) {
        let series = Self.series(in: requestSeries, for: RequestLabels(route: route, status: status)) {
            (count: registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))]),
             duration: registry.makeDurationHistogram(
                descriptor: Self.requestDuration, labels: [("route", route)],
                buckets: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                          .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(500)]))
        }
        series.count.increment()
        series.duration.record(duration)
    }

    /// The series already made for `labels`, or the one `make` makes, kept for next time.
    private static func series<Labels: Hashable & Sendable, Series: Sendable>(
        in known: borrowing Mutex<[Labels: Series]>, for labels: Labels, make: () -> Series
    ) -> Series {
        known.withLock { known in
            if let series = known[labels] { return series }
            let series = make()
            known[labels] = series
            return series
        }
    }

    /// Counts events by type and outcome (`accepted`, `duplicate`, `rejected`).
    func recordEvents(type: String, outcome: String, count: Int = 1) {
        guard count > 0 else { return }
        let counter = Self.series(in: eventCounters, for: EventLabels(type: type, outcome: outcome)) {
            registry.makeCounter(descriptor: Self.events, labels: [("type", type), ("outcome", outcome)])
        }
        counter.increment(by: Int64(count))
    }

    /// Records one group commit.
    func recordCommit(events: Int, duration: Duration) {
        commitEvents.record(Double(events))
        commitDuration.record(duration)
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> [UInt8] {
        var output: [UInt8] = []
        registry.emit(into: &output)
        return output
    }
}
