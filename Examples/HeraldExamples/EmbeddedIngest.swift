public import AutomationEngine
import DestinationServer
public import Hummingbird
import Logging

/// An application of your own that also takes Segment traffic: its own routes, Herald's
/// ingest endpoints mounted under `/segment`, and Herald's automation engine running beside
/// them as background services.
///
/// Point Segment (or Webhooks (Actions)) at `https://your.host/segment/inbound/segment` and
/// Segment's libraries at `https://your.host/segment` (they add `/v1/batch`). Keys come from
/// the store (`herald keys create --db <the same file>`, or ``HeraldStore/createKey(workspace:scope:)``).
///
/// - Parameters:
///   - store: Herald's database, opened with ``HeraldStore/open(path:)``.
///   - port: where to listen (0: any free port).
public func makeShopApplication(store: HeraldStore, host: String = "127.0.0.1", port: Int = 8080) -> some ApplicationProtocol {
    let logger = Logger(label: "shop")
    let router = Router()
    router.get("/") { _, _ in "The shop's own page" }

    // Herald's ingest: a 200 means the events are on disk, once the writer (a service below) commits them.
    let writer = GroupCommitWriter(store: store)
    router.addRoutes(heraldIngestRoutes(store: store, writer: writer), atPath: "/segment")

    // The engine: profiles, mappings, runs and inbox messages, from the events the writer stored.
    let processing = EventProcessingService(processor: EventProcessor(store: store), logger: logger)
    let steps = StepWorkerService(worker: RunWorker(store: store), store: store, logger: logger)

    return Application(
        router: router,
        configuration: .init(address: .hostname(host, port: port), serverName: "Shop"),
        services: [writer, processing, steps],
        logger: logger)
}
