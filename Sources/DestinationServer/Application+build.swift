public import AutomationEngine
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Prometheus
import ServiceLifecycle
import NIOCore
import SegmentSpec

/// Builds Herald's HTTP application over `store`: ingest endpoints, health and metrics,
/// with the group-commit writer, the dedup pruner, the automation engine, the Segment outbox
/// and the HTTP client its webhooks and Segment calls go out through as its background services.
///
/// - Parameters:
///   - configuration: where to listen, limits, dedup window, where webhooks may connect.
///   - store: the opened database.
///   - onListening: called with the bound address once the server accepts connections.
/// - Throws: when the TLS configuration cannot be used.
public func buildApplication(
    _ configuration: ServerConfiguration,
    store: HeraldStore,
    onListening: @escaping @Sendable (_ host: String, _ port: Int) async -> Void = { _, _ in }
) throws -> some ApplicationProtocol {
    var logger = Logger(label: "herald")
    logger.logLevel = configuration.logLevel
    let metrics = HeraldMetrics()
    var writerOptions = GroupCommitWriter.Options()
    writerOptions.queueCapacity = configuration.ingestQueueCapacity
    writerOptions.dedupWindow = configuration.dedupWindow
    // Events the writer commits reach the engine already parsed.
    let handoff = ParsedEventHandoff()
    let backlog = EngineBacklog(limit: configuration.engineBacklogLimit)
    let writer = GroupCommitWriter(store: store, options: writerOptions, handoff: handoff, backlog: backlog) { events, duration in
        metrics.recordCommit(events: events, duration: duration)
    }
    // Preference links point at the public URL, else at the address the server listens on.
    let links = PreferenceLinks(baseURL: configuration.publicURL)
    let router = buildRouter(configuration, store: store, writer: writer, metrics: metrics, links: links)
    let pruner = DedupPruner(store: store, window: configuration.dedupWindow, logger: logger)
    let outbound = OutboundHTTPClient(policy: configuration.outboundDestinations, logger: logger)
    let smtp = SMTPTransport(policy: configuration.outboundDestinations, trustRootsFile: configuration.smtpTrustRootsFile, logger: logger)
    let engineMetrics = EngineMetrics(factory: PrometheusMetricsFactory(registry: metrics.registry))
    let processing = EventProcessingService(
        processor: EventProcessor(
            store: store, cancellationTTL: configuration.cancellationTTL, handoff: handoff, backlog: backlog, metrics: engineMetrics),
        backlog: backlog, metrics: engineMetrics, logger: logger)
    let steps = StepWorkerService(
        worker: RunWorker(store: store, metrics: engineMetrics, logger: logger, links: links, trackingBaseURL: configuration.publicURL), store: store, logger: logger)
    var deliveryOptions = DeliveryService.Options()
    deliveryOptions.lease = configuration.deliveryLease
    let delivery = DeliveryService(
        store: store, channels: .standard(outbound: outbound, smtp: smtp), options: deliveryOptions, metrics: engineMetrics, logger: logger)
    let segmentOutbox = SegmentOutboxService(
        store: store, transport: OutboundSegmentTransport(outbound: outbound), options: configuration.segmentOutbox, metrics: engineMetrics,
        logger: logger)
    let http1 = HTTPServerBuilder.http1(configuration: .init(idleTimeout: .milliseconds(configuration.idleTimeout.wholeMilliseconds)))
    // Services stop in reverse order: the outbound client's connections (and SMTP sessions)
    // close after the engine's last delivery and the outbox's last send to Segment.
    var services: [any Service] = [
        outbound, smtp, writer, pruner, CapLedgerPruner(store: store, logger: logger), processing, steps, delivery, segmentOutbox,
    ]
    if let age = configuration.retention {
        services.append(RetentionPruner(store: store, age: age, interval: configuration.retentionInterval, metrics: engineMetrics, logger: logger))
    }
    let server: HTTPServerBuilder
    if let tls = configuration.tls {
        server = try .tls(http1, tlsConfiguration: tls.serverConfiguration)
        services.append(TLSCertificateReloadService(files: tls, logger: logger))
    } else {
        server = http1
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "Herald",
            availableConnectionsDelegate: .maximum(configuration.maximumConnections, logger: logger)),
        services: services,
        onServerRunning: { channel in
            links.useIfUnset("http://\(configuration.host):\(channel.localAddress?.port ?? configuration.port)")
            await onListening(configuration.host, channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
}

/// The router of Herald's endpoints, for tests that drive it without a socket; `links` says
/// where preference links point.
public func buildRouter(
    _ configuration: ServerConfiguration,
    store: HeraldStore,
    writer: GroupCommitWriter,
    metrics: HeraldMetrics,
    links: PreferenceLinks = PreferenceLinks()
) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: RequestLogMiddleware(metrics: metrics))
    router.add(middleware: JSONErrorMiddleware())
    let failures = AuthenticationFailureLog()
    let ingest = ingestController(
        context: BasicRequestContext.self, store: store, writer: writer, configuration: configuration, metrics: metrics, failures: failures)
    router.addRoutes(ingest.endpoints)
    router.addRoutes(OperationsController<BasicRequestContext>(store: store, metrics: metrics).endpoints)
    // The one place that knows the concrete store: everything below speaks to it through
    // ManagementStorage, and to the engine's store through the engine's own types.
    let dryRun = DryRun(store: store)
    ManagementAPI<BasicRequestContext>(
        store: store, dryRun: dryRun, replayer: Replayer(store: store), cancellationTTL: configuration.cancellationTTL, links: links, failures: failures)
        .add(to: router)
    WebPage<BasicRequestContext>(store: store, dryRun: dryRun, failures: failures).add(to: router)
    TrackingController<BasicRequestContext>(store: store).add(to: router)
    return router
}
