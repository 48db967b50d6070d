public import AutomationEngine
public import Logging
public import SegmentSpec

/// Everything `herald serve` can be told, with DESIGN §4's defaults.
public struct ServerConfiguration: Sendable {
    /// Interface to listen on.
    public var host: String = "127.0.0.1"
    /// Port to listen on; 0 picks a free one (tests).
    public var port: Int = 8080
    /// Request, event and batch limits of the Tracking API routes (`/v1/*`): Segment's own.
    public var limits: PayloadLimits = .segment
    /// Limits of `/inbound/segment`, sized for what Segment's Webhooks (Actions) destination
    /// sends: 4,000 events in one array, 24 MB, 32 KB an event.
    public var destinationLimits: PayloadLimits = .webhooksActions
    /// How long a messageId is remembered for deduplication.
    public var dedupWindow: Duration = .seconds(7 * 24 * 3600)
    /// Events allowed to wait for a commit before requests get 503.
    public var ingestQueueCapacity: Int = 50_000
    /// What is older than this and finished (processed events, final messages, ended runs,
    /// refused Segment calls) is removed in the background; nil keeps everything.
    public var retention: Duration?
    /// Time between retention passes.
    public var retentionInterval: Duration = .seconds(600)
    /// How often per-workspace rate limits are re-read from the database.
    public var rateLimitRefresh: Duration = .seconds(2)
    /// How long a cancellation token keeps stopping runs created after it (DESIGN §3: 24 h).
    public var cancellationTTL: Duration = .seconds(24 * 3600)
    /// Unprocessed events tolerated before ingest commits are held to the engine's pace
    /// (`EngineBacklog`); 0 never holds them.
    public var engineBacklogLimit: Int = 20_000
    /// Level of the server's log (one line per request at `info`).
    public var logLevel: Logger.Level = .info
    /// How long a connection may take to send a complete request head, go without sending
    /// a part of its body, or sit idle between requests before the server closes it. A client
    /// that opens connections and stalls would otherwise hold them, and their file
    /// descriptors, for ever. (A body must also arrive whole within 60 s; see
    /// `RequestBodyReader`.)
    public var idleTimeout: Duration = .seconds(30)
    /// Connections open at once; beyond it new ones wait in the kernel's accept queue until
    /// one closes. Keeps the server's file descriptors, which SQLite and the runtime also
    /// need, from running out (`herald serve` derives it from the open-files limit).
    public var maximumConnections: Int = 1_000
    /// Where webhooks and mail servers (any destination a workspace admin configures) may connect: public addresses
    /// only, unless the operator allowed more (`herald serve --allow-destination`).
    public var outboundDestinations = OutboundDestinationPolicy()
    /// The URL recipients reach this server at (`https://herald.example.com`), for preference
    /// links and email's one-click unsubscribe (nil: the address it listens on), and for the
    /// tracked links and open pixels of channels with `tracking: true` (nil: not tracked).
    public var publicURL: String?
    /// A PEM file of certificate authorities that smtp channels trust besides the system's
    /// (`herald serve --smtp-ca-file`): a mail relay with a private CA.
    public var smtpTrustRootsFile: String?
    /// How long a message being delivered is held by the attempt: after a crash it is
    /// attempted again (under the same Idempotency-Key) once this has passed. Longer than
    /// the longest channel timeout (60 s).
    public var deliveryLease: Duration = DeliveryService.Options().lease
    /// How the Segment outbox sends (its lease, backoff, the client's retries).
    public var segmentOutbox = SegmentOutboxService.Options()

    /// The certificate and key to serve HTTPS with (`--tls-cert`, `--tls-key`); nil serves
    /// plain HTTP (behind a TLS-terminating proxy). Reloaded on SIGHUP.
    public var tls: TLSCertificateFiles?

    /// The defaults: 127.0.0.1:8080, Segment's limits, a 7-day dedup window.
    public init() {}
}
