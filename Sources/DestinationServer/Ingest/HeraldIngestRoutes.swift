public import AutomationEngine
public import Hummingbird
import SegmentSpec

/// Herald's ingest endpoints as a route collection another Hummingbird application mounts
/// where it likes:
///
/// ```swift
/// router.addRoutes(heraldIngestRoutes(store: store, writer: writer), atPath: "/segment")
/// // Segment's destination endpoint is now /segment/inbound/segment; the Tracking API is /segment/v1/...
/// ```
///
/// The routes authenticate with the store's ingest keys (or a workspace's signing secret),
/// decode and validate against the Segment Spec, and answer 200 only once the events are on
/// disk: `writer` commits them, so it must run as one of the application's services. The
/// automation engine is separate: add `EventProcessingService` and `StepWorkerService`
/// over the same store to run mappings (`Examples/HeraldExamples/EmbeddedIngest.swift`
/// shows a whole application).
///
/// - Parameters:
///   - context: the request context type of the application's router.
///   - store: the database the events are appended to and the keys are read from.
///   - writer: the group-commit writer over `store`.
///   - configuration: the payload limits and rate-limit refresh of ``ServerConfiguration``; the rest is not used here.
///   - metrics: where request and commit figures go (`/metrics` in Herald's own server).
public func heraldIngestRoutes<Context: RequestContext>(
    context: Context.Type = Context.self,
    store: HeraldStore,
    writer: GroupCommitWriter,
    configuration: ServerConfiguration = ServerConfiguration(),
    metrics: HeraldMetrics = HeraldMetrics()
) -> RouteCollection<Context> {
    ingestController(context: context, store: store, writer: writer, configuration: configuration, metrics: metrics, failures: AuthenticationFailureLog())
        .endpoints
}

/// The ingest controller, wired as Herald's own server and ``heraldIngestRoutes`` wire it.
func ingestController<Context: RequestContext>(
    context: Context.Type, store: HeraldStore, writer: GroupCommitWriter, configuration: ServerConfiguration, metrics: HeraldMetrics,
    failures: AuthenticationFailureLog
) -> IngestController<Context> {
    IngestController<Context>(
        authenticator: KeyAuthenticator(store: store),
        writer: writer,
        decoder: PayloadDecoder(limits: configuration.limits),
        bodyReader: RequestBodyReader(limit: configuration.limits.maximumRequestBytes),
        destinationReader: DestinationBodyReader(
            collector: RequestBodyReader(limit: configuration.destinationLimits.maximumRequestBytes),
            decoder: PayloadDecoder(limits: configuration.destinationLimits)),
        signatures: SignatureVerifier(store: store, refreshInterval: configuration.rateLimitRefresh),
        failures: failures,
        rateLimiter: WorkspaceRateLimiter(store: store, refreshInterval: configuration.rateLimitRefresh),
        metrics: metrics)
}
