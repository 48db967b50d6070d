public import Foundation
import Logging
public import SegmentSpec

/// What would happen if an event arrived now: the mappings it matches, every condition's
/// values, the runs it would start and every message they would render, step by step.
///
/// It is the real engine run inside a transaction that is rolled back: the event is
/// appended, evaluated by an ``EventProcessor``, each started run is driven to its end by a
/// ``RunWorker`` on a simulated clock (a `delay` jumps ahead), and then nothing is kept. A
/// dry run therefore reports exactly what a real run would do against the current profiles,
/// once-per ledger and cancellations. Webhooks are not called.
public struct DryRun: Sendable {
    private let store: any EngineStorage
    private let now: @Sendable () -> Timestamp

    /// - Parameter now: the clock (tests pass a fixed one).
    public init(store: HeraldStore, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }) {
        self.store = store
        self.now = now
    }

    /// Evaluates `event` for `workspace`, against `draftYAML` when given (else the applied
    /// configuration).
    /// - Throws: `EventValidationError` for an event Herald would refuse,
    ///   ``ConfigurationError`` for an invalid draft.
    public func evaluate(event object: JSONObject, workspace: String, draftYAML: String? = nil) async throws -> DryRunReport {
        try SegmentEvent.checkUniqueKeys(object)
        let event = try SegmentEvent(validating: object)
        if let draftYAML {
            _ = try ConfigurationLoader.load(yaml: draftYAML, secrets: .none, requireSecrets: false)
        }
        let time = now()
        let ingest = IngestEvent(event: event, raw: Array(JSONValue.object(object).encodedString().utf8), workspaceId: workspace, receivedAt: time)
        // A configuration cache of its own: the server's must never see a draft.
        let store = self.store.isolatedForDryRun()
        let processor = EventProcessor(storage: store, now: { time })
        let worker = RunWorker(storage: store, logger: Logger(label: "herald.dry-run", factory: { _ in SwiftLogNoOpLogHandler() }), now: { time })
        return try await store.rehearse { rehearsal in
            try Self.simulate(ingest, draftYAML: draftYAML, at: time, processor: processor, worker: worker, rehearsal)
        }
    }

    private static func simulate(
        _ ingest: IngestEvent, draftYAML: String?, at time: Timestamp, processor: EventProcessor, worker: RunWorker, _ rehearsal: any RehearsalTransaction
    ) throws -> DryRunReport {
        let workspace = ingest.workspaceId
        if let draftYAML { try rehearsal.applyDraft(draftYAML, workspace: workspace, at: time) }
        let version = try rehearsal.versionInForce(workspace: workspace)
        let stored = try rehearsal.append(ingest)
        var trace: EventTrace
        if ingest.type == .delete {
            trace = EventTrace()
            trace.summary = "a delete erases this user's events, profile, runs and messages when it arrives; a dry run erases nothing"
        } else {
            trace = try processor.evaluate(stored, at: time, replay: false, rehearsal.effects)
        }
        var runs: [DryRunReport.Run] = []
        let runSteps = rehearsal.steps
        for started in trace.runs {
            var clock = time
            // Each pass runs one step; a step that waits moves the simulated clock to its due time.
            for _ in 0..<10_000 {
                guard let (run, dueAt) = try runSteps.pendingRun(id: started.id) else { break }
                clock = max(clock, Timestamp(millisecondsSince1970: dueAt))
                try worker.executeStep(of: run, at: clock, runSteps)
            }
            guard let record = try rehearsal.run(id: started.id) else { continue }
            let messages = try rehearsal.messages(runId: started.id)
            runs.append(DryRunReport.Run(
                automation: started.automation, recipient: record.recipient, startState: started.state, endState: record.state,
                steps: try rehearsal.history(runId: started.id), messages: messages,
                webhookRequests: try webhookRequests(messages, workspace: workspace, version: record.configVersion, at: clock, runSteps)))
        }
        return DryRunReport(event: stored, configVersion: version, draft: draftYAML != nil, explain: trace.json, runs: runs)
    }
}

extension DryRun {
    /// The request each webhook message would be POSTed as, with the recipient's profile as
    /// it stands after the run (delivery reads it when it sends).
    static func webhookRequests(
        _ messages: [MessageRecord], workspace: String, version: Int, at time: Timestamp, _ steps: any StepTransaction
    ) throws -> [WebhookRequest] {
        let configuration = try steps.configuration(workspace: workspace, version: version)
        return try messages.compactMap { message in
            guard message.status == .queued, let name = message.channel,
                let channel = configuration?.channels.first(where: { $0.name == name }),
                case .webhook(let url, let secret, _) = channel.kind
            else { return nil }
            let profile = try steps.profiles(workspace: workspace, time: time).traits(of: message.recipient) ?? JSONObject()
            let outgoing = OutgoingMessage(
                id: message.id, workspace: workspace, runId: message.runId, template: message.template, channel: name, subject: message.subject,
                body: message.body, recipient: message.recipient, profile: profile, attempt: 1)
            return WebhookRequest(message: outgoing, url: url, signed: secret != nil)
        }
    }
}

/// The outcome of a ``DryRun``.
public struct DryRunReport: Sendable {
    /// The event as Herald read it (its seq is not a real one).
    public let event: StoredEvent
    /// The configuration version evaluated (the draft's would-be number), nil when none.
    public let configVersion: Int?
    /// Whether a draft configuration was evaluated instead of the applied one.
    public let draft: Bool
    /// The explain trace: mappings considered, condition values, runs started or cancelled.
    public let explain: JSONValue
    /// The runs the event would start, each followed to its end.
    public let runs: [Run]

    /// A run the event would start.
    public struct Run: Sendable {
        /// The automation.
        public let automation: String
        /// The recipient's profile id.
        public let recipient: String
        /// `pending`, or `cancelled` when its token was cancelled recently.
        public let startState: String
        /// The state after every step ran on the simulated clock.
        public let endState: String
        /// What each step did, with its simulated time.
        public let steps: [RunStepEntry]
        /// The messages it would render, with the status they would get at first.
        public let messages: [MessageRecord]
        /// The HTTP request of each message on a webhook channel, as it would be sent.
        public let webhookRequests: [WebhookRequest]
    }
}
