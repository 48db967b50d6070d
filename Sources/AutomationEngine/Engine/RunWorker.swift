public import Foundation
public import Logging
import Mustache
public import SegmentSpec
import Synchronization

/// Executes the due steps of pending runs, a batch of steps per transaction (each with its
/// recorded outcome), so a restart resumes every run where it stopped and overdue steps run
/// at once; a transaction commits all of its steps or none. Messages get a stable id
/// (run + step): re-running a step never sends twice.
///
/// Delivery here covers the `inbox` channel (stored in-app messages, `sent` when stored) and
/// `log` (written to the server log). A webhook or email message is recorded `queued` for the
/// ``DeliveryService``; an email to a recipient without an address is `unroutable`.
public final class RunWorker: Sendable {
    private let store: any EngineStorage
    private let now: @Sendable () -> Timestamp
    private let logger: Logger
    private let metrics: EngineMetrics
    /// Subject and body templates, parsed once (nil: the template does not parse).
    private let parsedTemplates = Mutex<[String: TextTemplate?]>([:])
    /// Where recipients reach this server (`https://herald.example.com`): tracked links and
    /// open pixels point there. Nil: channels with `tracking: true` are not tracked.
    private let trackingBaseURL: String?
    /// Where preference links point (`{{preferences_url}}`, email's `List-Unsubscribe`).
    private let links: PreferenceLinks

    /// - Parameters:
    ///   - links: the public base URL of preference links; without one, messages carry none.
    ///   - trackingBaseURL: the server's public URL, for tracked links (`herald serve --public-url`).
    ///   - now: the clock; tests pass one they move, so delays never sleep.
    public convenience init(
        store: HeraldStore, metrics: EngineMetrics = EngineMetrics(), logger: Logger = Logger(label: "herald.runs"),
        links: PreferenceLinks = PreferenceLinks(), trackingBaseURL: String? = nil, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.init(storage: store, metrics: metrics, logger: logger, links: links, trackingBaseURL: trackingBaseURL, now: now)
    }

    /// A worker over any store backend.
    init(
        storage: any EngineStorage, metrics: EngineMetrics = EngineMetrics(), logger: Logger = Logger(label: "herald.runs"),
        links: PreferenceLinks = PreferenceLinks(), trackingBaseURL: String? = nil, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.trackingBaseURL = trackingBaseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.store = storage
        self.metrics = metrics
        self.logger = logger
        self.links = links
        self.now = now
    }

    /// Runs every step that is due now (a run's consecutive due steps included); returns how many steps ran.
    ///
    /// One write transaction claims up to `batchSize` due runs, oldest due first, and
    /// executes their steps: one fsync for the whole batch instead of one per step. Each run
    /// is read again just before its step (an earlier step of the batch may have cancelled
    /// it), and a run whose next step is due at once continues in the same transaction.
    @discardableResult
    public func executeDue(limit: Int = 200, batchSize: Int = 200) async throws -> Int {
        var executed = 0
        while executed < limit {
            let time = now()
            let budget = min(batchSize, limit - executed)
            // Looking on a reader first: the single writer, which ingest shares, is taken only
            // when a step is due (most engine passes find none).
            guard try await store.hasDueSteps(at: time.millisecondsSince1970) else { break }
            let ran: Int
            do {
                ran = try await store.writeSteps { steps in try self.executeBatch(at: time, budget: budget, steps) }
            } catch {
                // A step that fails would roll its whole batch back: run one step at a time
                // instead, so the steps before it still commit (and its error still surfaces).
                ran = try await store.writeSteps { steps in try self.executeBatch(at: time, budget: 1, steps) }
            }
            guard ran > 0 else { break }
            executed += ran
        }
        metrics.stepsExecuted(executed)
        return executed
    }

    /// Executes up to `budget` due steps at `time` inside the caller's transaction; returns how many ran.
    private func executeBatch(at time: Timestamp, budget: Int, _ steps: any StepTransaction) throws -> Int {
        let ms = time.millisecondsSince1970
        var ran = 0
        var cancelledRuns = false
        for due in try steps.dueRuns(at: ms, limit: budget) where ran < budget {
            // A `cancel` step earlier in this batch may have ended this run: read it again.
            guard var run = cancelledRuns ? try steps.pendingRun(id: due.id, dueAt: ms) : due else { continue }
            // The run's consecutive due steps, in this transaction, without reading it again.
            while ran < budget {
                let result = try executeStep(of: run, at: time, steps)
                ran += 1
                cancelledRuns = cancelledRuns || result.cancelledRuns
                guard let next = result.nextDueAt, next <= ms else { break }
                run = run.advanced()
            }
        }
        return ran
    }

    /// What a step left to do.
    struct StepResult {
        /// When the run's next step is due; nil when the run ended.
        var nextDueAt: Int64?
        /// Whether the step cancelled other runs.
        var cancelledRuns = false
    }

    /// The configuration a run is pinned to; a version that no longer parses is logged once
    /// per attempt and treated as missing (the run fails with that reason).
    private func configuration(workspace: String, version: Int, _ steps: any StepTransaction) throws -> HeraldConfiguration? {
        do {
            return try steps.configuration(workspace: workspace, version: version)
        } catch let error as ConfigurationError {
            logger.error("configuration version cannot be read", metadata: ["workspace": "\(workspace)", "version": "\(version)", "error": "\(error)"])
            return nil
        }
    }

    /// Runs the next step of `run` at `time` inside the caller's transaction.
    ///
    /// When the step was the automation's last and the run has nothing left to wait for, the
    /// run is completed in the same call (one write of the run instead of an advance and a
    /// finish).
    @discardableResult
    func executeStep(of run: PendingRun, at time: Timestamp, _ steps: any StepTransaction) throws -> StepResult {
        let id = run.id
        let workspace = run.workspace
        let version = run.configVersion
        let index = run.nextStep
        let recipient = run.recipient
        let ms = time.millisecondsSince1970
        func record(_ outcome: String) throws {
            try steps.recordStep(runId: id, step: index, outcome: outcome, at: ms)
        }
        var stepCount = 0
        func complete() throws -> StepResult {
            try steps.recordStep(runId: id, step: stepCount, outcome: "completed", at: ms)
            try steps.finish(runId: id, state: "completed", step: stepCount, at: ms)
            metrics.run(automation: run.automation, state: "completed")
            return StepResult(nextDueAt: nil)
        }
        func advance(dueAt: Int64? = nil, cancelledRuns: Bool = false) throws -> StepResult {
            let due = dueAt ?? ms
            if index + 1 >= stepCount && due <= ms {
                var result = try complete()
                result.cancelledRuns = cancelledRuns
                return result
            }
            try steps.advance(runId: id, dueAt: due, at: ms)
            return StepResult(nextDueAt: due, cancelledRuns: cancelledRuns)
        }
        // A database error rolls the batch back (retried next round); only a version that
        // no longer parses fails the run.
        let configuration = try configuration(workspace: workspace, version: version, steps)
        guard let automation = configuration?.automations.first(where: { $0.name == run.automation }) else {
            let name = run.automation
            try record("automation `\(name)` is missing from configuration version \(version); run stopped")
            try steps.finish(runId: id, state: "failed", step: index, at: ms)
            metrics.run(automation: name, state: "failed")
            return StepResult(nextDueAt: nil)
        }
        stepCount = automation.steps.count
        guard index < stepCount else { return try complete() }
        var scope = (try? JSONParser.parse(run.scope).objectValue) ?? JSONObject()
        let profiles = steps.profiles(workspace: workspace, time: time)
        // The profile may have changed since the run started: conditions and templates see it as it is now.
        if let traits = try profiles.traits(of: recipient) {
            scope["profile"] = .object(traits)
        }
        let step = automation.steps[index]
        // A `then:` or `timeout:` step runs only on its wait's outcome; the other branch is passed over.
        if let branch = step.branch, (try steps.wait(runId: id, step: branch.waitStep)?.state == .arrived) != branch.onArrival {
            return try advance()
        }
        // Steps after a `digest` see what it collected, and the digest takes no more items.
        if let digestStep = automation.steps[..<index].lastIndex(where: { if case .digest = $0.action { true } else { false } }),
           let digest = try steps.digest(collectedBy: id, step: digestStep)
        {
            if digest.isOpen { try steps.closeDigest(collectedBy: id, step: digestStep, at: ms) }
            scope["digest"] = Digests.scopeValue(digest)
        }
        if let condition = step.condition {
            let outcome = condition.evaluate(in: scope)
            guard outcome.value else {
                try record("skipped: condition `\(condition)` was false" + (outcome.notes.isEmpty ? "" : " (\(outcome.notes.joined(separator: ", ")))"))
                return try advance()
            }
        }
        switch step.action {
        case .delay, .delayUntil:
            let wait = Self.wait(for: step.action, scope: scope, at: ms)!
            try record(wait.outcome)
            return try advance(dueAt: wait.dueAt)
        case .cancel(let template):
            let token = TemplateRenderer.render(template, scope: scope) ?? template
            let cancelled = try steps.cancelPendingRuns(workspace: workspace, token: token, except: id, at: ms)
            try record("cancelled \(cancelled) pending run(s) with token \"\(token)\"")
            return try advance(cancelledRuns: cancelled > 0)
        case .updateProfile(let patch):
            let rendered = Self.render(patch, scope: scope)
            let size = JSONValue.object(rendered).encodedBytes().count
            guard size <= Self.maximumProfileUpdateBytes else {
                try record("profile not updated: the rendered update is \(size) bytes; the limit is \(Self.maximumProfileUpdateBytes / 1024) KB")
                return try advance()
            }
            let current = try profiles.traits(of: recipient) ?? JSONObject()
            try steps.saveProfileTraits(workspace: workspace, profileId: recipient, traits: current.deepMerging(rendered), at: ms)
            try record("profile updated: \(rendered.keys.joined(separator: ", "))")
            return try advance()
        case .segment(let call):
            try record(try segment(call, runId: id, step: index, workspace: workspace, recipient: recipient, scope: scope, at: ms, steps))
            return try advance()
        case .digest(let settings):
            if let collected = try steps.digest(collectedBy: id, step: index) {
                // Opened when the event started the run (a leading digest), or on an earlier pass.
                guard collected.isOpen, collected.closesAt > ms else {
                    try record("digest closed with \(collected.count) item\(collected.count == 1 ? "" : "s")")
                    return try advance()
                }
                try record("collecting a digest until \(Timestamp(millisecondsSince1970: collected.closesAt).iso8601) (\(collected.count) item\(collected.count == 1 ? "" : "s") so far)")
                return try advance(dueAt: collected.closesAt)
            }
            let key = DigestKey(
                workspace: workspace, automation: automation.name, step: index, recipient: recipient,
                key: settings.key.map { TemplateRenderer.render($0, scope: scope) ?? $0 } ?? "")
            let item = Digests.item(of: scope)
            if let joined = try steps.joinOpenDigest(key, item: item, at: ms) {
                // Another run collects this recipient's digest: this one ends here.
                try record(Digests.joinedText(joined, maxItems: settings.maxItems))
                try steps.finish(runId: id, state: "completed", step: index, at: ms)
                metrics.digested(automation: automation.name)
                metrics.run(automation: automation.name, state: "completed")
                return StepResult(nextDueAt: nil)
            }
            let closesAt = settings.closesAt(openedAt: ms, in: RecipientTimeZone.of(scope, configuration: configuration))
            try steps.openDigest(key, runId: id, closesAt: closesAt, maxItems: settings.maxItems, item: item, at: ms)
            try record("collecting a digest" + (key.key.isEmpty ? "" : " for key \"\(key.key)\"") + " until \(Timestamp(millisecondsSince1970: closesAt).iso8601) (1 item so far)")
            return try advance(dueAt: settings.maxItems <= 1 ? ms : closesAt)
        case .waitFor(let wait):
            guard let waiting = try steps.wait(runId: id, step: index) else {
                let deadline = ms + wait.within.wholeMilliseconds
                try steps.startWait(
                    runId: id, step: index, workspace: workspace, recipient: recipient, event: wait.event, matchText: wait.matchText, deadline: deadline, at: ms)
                try record("waiting for \(wait.event)" + (wait.matchText.map { " where `\($0)`" } ?? "")
                           + " until \(Timestamp(millisecondsSince1970: deadline).iso8601)")
                try steps.postpone(runId: id, dueAt: deadline, at: ms)
                return StepResult(nextDueAt: deadline)
            }
            if waiting.state == .waiting {
                // Woken before its time (it should not be): wait on.
                guard waiting.deadline <= ms else {
                    try steps.postpone(runId: id, dueAt: waiting.deadline, at: ms)
                    return StepResult(nextDueAt: waiting.deadline)
                }
                _ = try steps.timeOutWait(runId: id, step: index, at: ms)
            }
            if waiting.state == .arrived {
                try record("\(wait.event) arrived" + (waiting.eventSeq.map { " (event \($0))" } ?? "") + (wait.thenSteps > 0 ? ": taking the `then` branch" : ": continuing"))
            } else {
                try record("no \(wait.event) within \(DurationText.describe(milliseconds: wait.within.wholeMilliseconds))"
                           + (wait.timeoutSteps > 0 ? ": taking the `timeout` branch" : ": continuing"))
            }
            return try advance()
        case .send(let templateName, let channelOverride, let recipientOverride, let extraData):
            if let extraData { scope["data"] = .object((scope["data"]?.objectValue ?? JSONObject()).deepMerging(Self.render(extraData, scope: scope))) }
            // `to:` sends to someone else (`{{data.manager_id}}`); templates then see that profile.
            var to = recipient
            // An email address as `to:` is where an email goes, whatever the profile says.
            var explicitAddress: String?
            if let recipientOverride {
                let rendered = (TemplateRenderer.render(recipientOverride, scope: scope) ?? "").trimmingCharacters(in: .whitespaces)
                if MailAddress.isValid(rendered) { explicitAddress = rendered }
                to = rendered.isEmpty ? "" : try profiles.resolve(rendered)
                if !to.isEmpty, to != recipient {
                    scope["profile"] = .object(try profiles.traits(of: to) ?? JSONObject())
                }
            }
            let outcome = try send(runId: id, step: index, workspace: workspace, configuration: configuration, automation: automation, recipient: to,
                                   explicitAddress: explicitAddress, template: templateName, channelOverride: channelOverride, scope: scope, at: ms, steps)
            switch outcome {
            case .written(let text, let traceNote):
                try record(text)
                if let traceNote { try steps.noteOnTrace(ofEventAt: run.eventSeq, "run \(id) of `\(run.automation)`: \(traceNote)") }
                return try advance()
            case .deferred(let until, let text, let reason):
                // The step runs again when the window opens or the cap allows; nothing is dropped.
                try record(text)
                try steps.noteOnTrace(ofEventAt: run.eventSeq, "run \(id) of `\(run.automation)`: \(text)")
                try steps.postpone(runId: id, dueAt: until, at: ms)
                metrics.deferred(reason: reason)
                return StepResult(nextDueAt: until)
            }
        }
    }

    /// Largest rendered `update-profile` value a step may write: an event's own limit, so a
    /// step cannot make a profile larger than Segment could have sent it.
    static let maximumProfileUpdateBytes = 32 * 1024

    /// When a `delay` step makes the run due next, and what its step history says; nil for
    /// other steps. The engine also uses it to start a run past a leading delay.
    static func wait(for action: HeraldConfiguration.Step.Action, scope: JSONObject, at ms: Int64) -> (dueAt: Int64, outcome: String)? {
        switch action {
        case .delay(let duration):
            let due = ms + duration.wholeMilliseconds
            return (due, "waiting \(duration) until \(Timestamp(millisecondsSince1970: due).iso8601)")
        case .delayUntil(let path):
            let value = JSONValue.object(scope).value(atPath: path)
            if let text = value?.stringValue, let until = Timestamp(iso8601: text) {
                // A time already past runs the next step at once and says so; it never fails the run.
                guard until.millisecondsSince1970 >= ms else {
                    return (ms, "no wait: \(until.iso8601) (\(path)) is already past, late by \(DurationText.describe(milliseconds: ms - until.millisecondsSince1970))")
                }
                return (until.millisecondsSince1970, "waiting until \(until.iso8601) (\(path))")
            }
            return (ms, "no wait: \(path) is not an ISO-8601 time (\(value?.encodedString() ?? "missing"))")
        default:
            return nil
        }
    }

    /// What a `send` step did.
    enum SendOutcome {
        /// The message was written (or had been): the step's history line, and a line for the
        /// starting event's explain trace when a control skipped it.
        case written(String, traceNote: String?)
        /// Not sent yet: a send window is closed or a cap says wait (`reason` for metrics).
        case deferred(until: Int64, String, reason: String)
    }

    /// The caps a send counts against: the workspace's `limits:` on its channel and topic,
    /// and its automation's `throttle:` (per rendered key).
    private static func caps(
        channel: String, topic: String?, automation: HeraldConfiguration.Automation, configuration: HeraldConfiguration?, scope: JSONObject
    ) -> [(limit: FrequencyLimit, cap: SendCap, kind: String, text: String)] {
        var caps: [(limit: FrequencyLimit, cap: SendCap, kind: String, text: String)] = []
        for limit in configuration?.limits ?? [] where (limit.channel ?? channel) == channel && (limit.topic == nil || limit.topic == topic) {
            caps.append((limit, SendCap(channel: limit.channel, topic: limit.topic, automation: nil, throttleKey: nil, max: limit.max,
                                        window: limit.per.wholeMilliseconds), "limit", limit.describedAsLimit))
        }
        if let throttle = automation.throttle {
            let key = throttle.key.map { TemplateRenderer.render($0, scope: scope) ?? $0 } ?? ""
            let text = "throttle \(throttle.max) per \(DurationText.describe(milliseconds: throttle.per.wholeMilliseconds)) of `\(automation.name)`"
                + (key.isEmpty ? "" : " for key \"\(key)\"")
            caps.append((throttle, SendCap(channel: nil, topic: nil, automation: automation.name, throttleKey: key, max: throttle.max,
                                           window: throttle.per.wholeMilliseconds), "throttle", text))
        }
        return caps
    }

    /// Creates the step's message (once) and delivers it on inbox/log channels; checks the
    /// recipient's preferences now, when the message would go out (a message they no longer
    /// want is `skipped`, with the reason), then the send window (closed: deferred to its
    /// opening) and the frequency caps (over one: `skipped`, or deferred with `over_limit: defer`).
    private func send(runId: Int64, step: Int, workspace: String, configuration: HeraldConfiguration?, automation: HeraldConfiguration.Automation,
                      recipient: String, explicitAddress: String?, template name: String, channelOverride: String?, scope: JSONObject, at ms: Int64,
                      _ steps: any StepTransaction) throws -> SendOutcome {
        let messageId = "run-\(runId)-step-\(step)"
        let template = configuration?.templates.first { $0.name == name }
        let channelName = channelOverride ?? template?.channel
        let channel = configuration?.channels.first { $0.name == channelName }
        let topic = (template?.topic ?? automation.topic).flatMap { configuration?.topic(named: $0) }
        var scope = scope
        var token: String?
        if !recipient.isEmpty, links.baseURL != nil {
            token = PreferenceToken.make(workspace: workspace, profileId: recipient, key: try steps.preferenceLinkKey(workspace: workspace))
            scope["preferences_url"] = token.flatMap { links.pageURL(token: $0) }.map(JSONValue.string)
        }
        var blocked: String?
        if let channel, !recipient.isEmpty {
            let isEmail: Bool
            if case .smtp = channel.kind { isEmail = true } else { isEmail = false }
            blocked = PreferenceCheck.blockingReason(
                topic: topic, channel: channel.name, isEmail: isEmail, choices: try steps.preferenceChoices(workspace: workspace, profileId: recipient),
                traits: scope["profile"]?.objectValue)
        }
        let context = TemplateScope(scope)
        let subject = template?.subject.flatMap { render($0, context: context) }
        var body = template.flatMap { render($0.body, context: context) }
        let html = template?.html.flatMap { render($0, context: context, escapingHTML: true) }
        var trackedLinks: [String]?
        var trackingNote = ""
        if channel?.tracking == true, let rendered = body {
            if let trackingBaseURL {
                let key = try steps.trackingKey()
                let tracked = LinkTracking.rewrite(rendered, baseURL: trackingBaseURL) { TrackingToken(messageId: messageId, kind: $0).signed(with: key) }
                body = tracked.body
                trackedLinks = tracked.links
            } else {
                trackingNote = " (not tracked: the server has no public URL; start it with --public-url)"
            }
        }
        var status: MessageStatus
        var reason: String?
        var address: String?
        switch channel?.kind {
        case _ where recipient.isEmpty:
            status = .unroutable
            reason = "no recipient: the event has no userId or anonymousId, or `to:` rendered empty"
        case nil:
            status = .unroutable
            reason = channelName.map { "channel `\($0)` is not defined" } ?? "template `\(name)` names no channel"
        case .some(_) where template == nil || body == nil:
            status = .undeliverable
            reason = "template `\(name)` could not be rendered"
        case .some(_) where blocked != nil:
            status = .skipped
            reason = blocked
        case .inbox?:
            status = .sent
            reason = "stored in \(recipient)'s inbox"
        case .log?:
            status = .sent
            reason = "written to the log"
        case .webhook?:
            status = .queued
            reason = "waiting for delivery"
        case .smtp?:
            address = explicitAddress ?? Self.emailAddress(of: scope["profile"]?.objectValue)
            if let address {
                status = .queued
                reason = "waiting for delivery to \(address)"
            } else {
                status = .unroutable
                reason = "no email address: profile `\(recipient)` has no valid `email` trait and the send's `to:` is not an address"
            }
        }
        var traceNote: String?
        if status == .sent || status == .queued, let channel {
            if let window = template?.sendWindow ?? channel.sendWindow {
                let zone = RecipientTimeZone.of(scope, configuration: configuration)
                if let opening = window.nextOpening(after: Timestamp(millisecondsSince1970: ms).date, in: zone) {
                    let whose = template?.sendWindow != nil ? "the send window of template `\(name)`" : "the \(channel.name) send window"
                    return .deferred(
                        until: Timestamp(opening).millisecondsSince1970, "deferred to \(SendWindow.localTime(opening, in: zone)) \(zone.identifier) by \(whose)",
                        reason: "send_window")
                }
            }
            let caps = Self.caps(channel: channel.name, topic: topic?.name, automation: automation, configuration: configuration, scope: scope)
            if !caps.isEmpty {
                let counted = CountedSend(
                    workspace: workspace, recipient: recipient, channel: channel.name, topic: topic?.name, automation: automation.name,
                    throttleKey: caps.first { $0.kind == "throttle" }?.cap.throttleKey ?? "")
                if let refusal = try steps.admitSend(counted, caps: caps.map(\.cap), at: ms) {
                    let over = caps[refusal.index]
                    if over.limit.overLimit == .defer {
                        return .deferred(
                            until: refusal.allowedAt, "deferred to \(Timestamp(millisecondsSince1970: refusal.allowedAt).iso8601) by the \(over.text)",
                            reason: over.kind)
                    }
                    status = .skipped
                    reason = "\(over.text) reached"
                    traceNote = "skipped: \(over.text) reached"
                    metrics.skipped(reason: over.kind)
                }
            }
        }
        let written = try steps.insertIfNew(
            NewMessage(
                id: messageId, workspace: workspace, runId: runId, recipient: recipient, channel: channelName, channelType: channel?.kind.typeName,
                template: name, subject: subject, body: body, status: status, reason: reason.map { $0 + trackingNote }, links: trackedLinks, html: html,
                address: address,
                unsubscribeURL: address == nil ? nil : token.flatMap { self.links.oneClickURL(token: $0, topic: topic?.name, channel: channelName ?? "") }),
            at: ms)
        // Written once, by the step's first execution: its id is the run's and step's.
        guard written else { return .written("message \(messageId) already exists; not sent again", traceNote: nil) }
        if case .log? = channel?.kind, status == .sent {
            logger.info("message \(messageId) to \(recipient): \(subject ?? "") \(body ?? "")")
        }
        metrics.message(channel: channel?.kind.typeName ?? "none", status: status)
        if status == .unroutable || status == .undeliverable {
            // Said where an operator looks: a message that will never arrive is not a detail.
            logger.warning("message \(status.rawValue)", metadata: [
                "message": "\(messageId)", "workspace": "\(workspace)", "channel": "\(channelName ?? "none")", "reason": "\(reason ?? "")",
            ])
        }
        return .written("message \(messageId) \(status.rawValue)" + (reason.map { ": \($0)" } ?? ""), traceNote: traceNote)
    }

    /// Renders a `segment` step's call and writes it to the outbox; returns the step's outcome.
    private func segment(_ call: SegmentStepCall, runId: Int64, step: Int, workspace: String, recipient: String, scope: JSONObject,
                         at ms: Int64, _ steps: any StepTransaction) throws -> String {
        guard try steps.segmentDestination(workspace: workspace) != nil else {
            return "segment \(call.type) not sent: the workspace's configuration has no `segment:`"
        }
        guard !recipient.isEmpty else { return "segment \(call.type) not sent: the run has no recipient to attribute it to" }
        let (fields, notes) = call.fields(render: { Self.render($0, scope: scope) }, renderText: { TemplateRenderer.render($0, scope: scope) ?? $0 })
        let size = JSONValue.object(fields).encodedBytes().count
        guard size <= Self.maximumProfileUpdateBytes else {
            return "segment \(call.type) not sent: the rendered call is \(size) bytes; Segment takes 32 KB at most"
        }
        let written = try steps.enqueueSegmentCall(runId: runId, step: step, workspace: workspace, recipient: recipient, type: call.type, fields: fields, at: ms)
        let what = fields["event"]?.stringValue.map { "segment track \"\($0)\"" } ?? "segment \(call.type)"
        guard written else { return "\(what) was written to the outbox before, or its event is not in `segment.events`; not again" }
        return "\(what) written to the outbox" + (notes.isEmpty ? "" : " (\(notes.joined(separator: "; ")))")
    }

    /// The profile's `email` trait when it is one valid address.
    static func emailAddress(of traits: JSONObject?) -> String? {
        guard let email = traits?["email"]?.stringValue?.trimmingCharacters(in: .whitespaces), MailAddress.isValid(email) else { return nil }
        return email
    }

    /// What `TemplateRenderer.render` gives, with the template parsed only the first time;
    /// `escapingHTML` for an email's HTML part (event data cannot add markup to it).
    private func render(_ text: String, context: TemplateScope, escapingHTML: Bool = false) -> String? {
        let key = escapingHTML ? "html\u{0}" + text : text
        let parsed = parsedTemplates.withLock { cache -> TextTemplate? in
            if let known = cache[key] { return known }
            if cache.count >= 10_000 { cache.removeAll() }  // templates of many configuration versions
            let parsed = try? TextTemplate(text, escapingHTML: escapingHTML)
            cache[key] = .some(parsed)
            return parsed
        }
        return parsed?.render(context)
    }


    /// Renders every string of `patch` as a template (`"{{data.order_id}}"`).
    static func render(_ patch: JSONObject, scope: JSONObject) -> JSONObject {
        JSONObject(members: patch.members.map { member in
            switch member.value {
            case .string(let text): return .init(key: member.key, value: .string(TemplateRenderer.render(text, scope: scope) ?? text))
            case .object(let nested): return .init(key: member.key, value: .object(render(nested, scope: scope)))
            default: return member
            }
        })
    }
}
