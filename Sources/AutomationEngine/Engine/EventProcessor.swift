public import Foundation
public import SegmentSpec
import Synchronization

/// Consumes the event log in order: updates profiles and groups, checks the mappings of each
/// event's name, starts or cancels runs, and records an explain trace, all in the same
/// transaction that advances its cursor, so every event is processed exactly once even
/// across crashes. Ingest never waits for it.
public final class EventProcessor: Sendable {
    /// How long a cancellation token keeps stopping runs created after it (DESIGN: 24 h).
    public let cancellationTTL: Duration
    private let store: any EngineStorage
    private let now: @Sendable () -> Timestamp
    private let metrics: EngineMetrics
    private let handoff: ParsedEventHandoff?
    private let backlog: EngineBacklog?
    /// An event of the log ready for processing: as stored, and parsed when the gathering
    /// pass could tell it will be needed (nil: parsed in the transaction if it is).
    private typealias Gathered = (stored: StoredEvent, event: SegmentEvent?)

    /// - Parameters:
    ///   - handoff: events the server's ``GroupCommitWriter`` appended, already parsed.
    ///   - backlog: where progress is reported to the writer's flow control.
    ///   - now: the clock; tests pass a fixed one.
    public convenience init(
        store: HeraldStore, cancellationTTL: Duration = .seconds(24 * 3600), handoff: ParsedEventHandoff? = nil,
        backlog: EngineBacklog? = nil, metrics: EngineMetrics = EngineMetrics(), now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.init(storage: store, cancellationTTL: cancellationTTL, handoff: handoff, backlog: backlog, metrics: metrics, now: now)
    }

    /// A processor over any store backend.
    init(
        storage: any EngineStorage, cancellationTTL: Duration = .seconds(24 * 3600), handoff: ParsedEventHandoff? = nil,
        backlog: EngineBacklog? = nil, metrics: EngineMetrics = EngineMetrics(), now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.store = storage
        self.metrics = metrics
        self.handoff = handoff
        self.backlog = backlog
        self.cancellationTTL = cancellationTTL
        self.now = now
    }

    /// Processes up to `limit` events past the cursor in one transaction; returns how many.
    ///
    /// The events are first gathered outside the single writer (which ingest shares): taken
    /// from the hand-off when the group-commit writer left them there, else read on a reader
    /// connection, and parsed there only if processing will need them (see `needsParsing`).
    /// The write transaction then lists the positions past the cursor again (an erasure may
    /// have deleted some since) and uses a gathered event for each position it finds (a row
    /// is never updated, and positions are never reused), reading inside it only what was
    /// appended meanwhile and parsing only what turns out to be needed. The outcome is the
    /// same as reading and parsing everything inside it.
    @discardableResult
    public func processPending(limit: Int = 500) async throws -> Int {
        let time = now()
        let ttl = cancellationTTL.wholeMilliseconds
        let handoff = self.handoff
        let gathered = try await store.readEventEffects { effects -> [Int64: Gathered] in
            let seqs = try effects.pendingPositions(limit: limit)
            var gathered: [Int64: Gathered] = [:]
            let handed = handoff?.take(seqs) ?? [:]
            for (seq, entry) in handed { gathered[seq] = (entry.stored, entry.event) }
            let missing = seqs.filter { gathered[$0] == nil }
            var configurations = ConfigurationsInTransaction()
            for stored in try effects.events(at: missing) {
                let parse = try self.needsParsing(stored, configuration: self.inForce(for: stored.workspaceId, &configurations, effects))
                gathered[stored.seq] = (stored, parse ? stored.validatedEvent : nil)
            }
            return gathered
        }
        // Nothing was committed past the cursor when the reader looked: no write transaction.
        guard !gathered.isEmpty else { return 0 }
        let (count, last) = try await store.writeEventEffects { effects -> (Int, Int64?) in
            let seqs = try effects.pendingPositions(limit: limit)
            guard !seqs.isEmpty else { return (0, nil) }
            var names = EventNameTally()
            var configurations = ConfigurationsInTransaction()
            for seq in seqs {
                let stored: StoredEvent
                let parsed: SegmentEvent?
                if let known = gathered[seq] {
                    (stored, parsed) = known
                } else {
                    guard let found = try effects.event(at: seq) else { continue }
                    (stored, parsed) = (found, nil)
                }
                names.count(stored)
                var trace = EventTrace()
                try self.process(
                    stored, parsed: parsed, at: time, cancellationTTL: ttl, replay: false, configurations: &configurations, trace: &trace, effects)
                try effects.saveTrace(trace, seq: stored.seq, workspace: stored.workspaceId)
            }
            try effects.record(names)
            let last = seqs[seqs.count - 1]
            try effects.advanceCursor(to: last)
            return (seqs.count, last)
        }
        if let last { backlog?.processed(through: last) }
        return count
    }

    /// The configuration in force per workspace, looked up once per transaction.
    private struct ConfigurationsInTransaction {
        var byWorkspace: [String: (version: Int, configuration: HeraldConfiguration)?] = [:]
        /// Why a workspace's configuration in force could not be used.
        var failures: [String: String] = [:]
    }

    /// The configuration in force for `workspace`, looked up once per transaction.
    private func inForce(
        for workspace: String, _ configurations: inout ConfigurationsInTransaction, _ effects: any EventTransaction
    ) throws -> (version: Int, configuration: HeraldConfiguration)? {
        if let known = configurations.byWorkspace[workspace] { return known }
        let found: (version: Int, configuration: HeraldConfiguration)?
        do {
            found = try effects.configurationInForce(workspace: workspace)
        } catch let error as ConfigurationError {
            // Applied versions were valid when applied; one an older Herald accepted may not
            // parse now. Its events are explained, and the log moves on.
            configurations.failures[workspace] = "the configuration in force cannot be read: \(error)"
            found = nil
        }
        configurations.byWorkspace[workspace] = .some(found)
        return found
    }

    /// Whether events of this call update profiles or groups (when processed, not replayed).
    private static func changesProfiles(_ type: String) -> Bool {
        type == "identify" || type == "alias" || type == "group"
    }

    /// Whether processing `stored` reads its parsed form: profile and group calls always
    /// update profiles; any other event only when a mapping handles its name. Most traffic
    /// (tracks, pages, screens nothing is mapped to) is then never parsed again after ingest.
    private func needsParsing(_ stored: StoredEvent, configuration: (version: Int, configuration: HeraldConfiguration)?) -> Bool {
        guard stored.type != "delete" else { return false }
        return Self.changesProfiles(stored.type) || !(configuration?.configuration.mappings(for: stored.name).isEmpty ?? true)
    }

    /// Evaluates one event inside the caller's transaction and returns its explain trace.
    ///
    /// - Parameter replay: re-evaluating a stored event (``Replayer``): profiles are not
    ///   updated again, `cancel` mappings are not re-applied, and an automation already
    ///   started for this event is not started twice.
    func evaluate(_ stored: StoredEvent, at time: Timestamp, cancellationTTL: Int64? = nil, replay: Bool, _ effects: any EventTransaction) throws -> EventTrace {
        var trace = EventTrace()
        var configurations = ConfigurationsInTransaction()
        try process(
            stored, parsed: nil, at: time, cancellationTTL: cancellationTTL ?? self.cancellationTTL.wholeMilliseconds, replay: replay,
            configurations: &configurations, trace: &trace, effects)
        return trace
    }

    /// - Parameter parsed: the event already parsed from `stored.raw`, or nil to parse it here if it is needed.
    private func process(
        _ stored: StoredEvent, parsed: SegmentEvent?, at time: Timestamp, cancellationTTL: Int64, replay: Bool,
        configurations: inout ConfigurationsInTransaction, trace: inout EventTrace, _ effects: any EventTransaction
    ) throws {
        guard stored.type != "delete" else {
            trace.summary = "the user's data was erased at ingest"
            return
        }
        // Parsed only when needed (see `needsParsing`); a stored event was valid at ingest,
        // so failing to read it again means the row was damaged. A damaged row nothing needed
        // to read gets the trace of what was done with it (nothing), not this summary.
        var event = parsed
        func readEvent() -> SegmentEvent? {
            if event == nil { event = stored.validatedEvent }
            if event == nil { trace.summary = "the stored event could not be read again; nothing was done" }
            return event
        }
        let workspace = stored.workspaceId
        let profiles = effects.profiles(workspace: workspace, time: time)
        let profileEffects = ProfileEffects(profiles: profiles)
        // Profile and group calls update profiles whether or not anything is mapped to them.
        var applied: String??
        if !replay && Self.changesProfiles(stored.type) {
            guard let event = readEvent() else { return }
            applied = .some(try profileEffects.apply(event, trace: &trace))
        }
        guard let (version, configuration) = try inForce(for: workspace, &configurations, effects) else {
            trace.summary = configurations.failures[workspace] ?? "no configuration applied to workspace \(workspace)"
            return
        }
        // Runs waiting for this event (`wait_for`) continue, whether or not a mapping handles it.
        var resumed = false
        if !replay, Self.agePastLimit(stored, limit: configuration.maximumEventAge) == nil,
           try effects.hasWaitingRuns(workspace: workspace, event: stored.name)
        {
            guard let event = readEvent() else { return }
            if let recipient = try applied ?? profileEffects.recipient(of: event) {
                let scope = try Self.scope(for: event, stored: stored, recipient: recipient, profiles: profiles)
                resumed = try resumeWaitingRuns(for: stored, recipient: recipient, scope: scope, at: time, trace: &trace, effects)
            }
        }
        let mappings = configuration.mappings(for: stored.name)
        guard !mappings.isEmpty else {
            if !resumed { trace.summary = "no mapping for \"\(stored.name)\"" }
            return
        }
        if let tooOld = Self.agePastLimit(stored, limit: configuration.maximumEventAge) {
            trace.summary = tooOld
            return
        }
        guard let event = readEvent() else { return }
        // For any other call (or a replay), applying is only resolving the recipient's profile.
        let recipient = try applied ?? (replay ? profileEffects.recipient(of: event) : profileEffects.apply(event, trace: &trace))
        let scope = try Self.scope(for: event, stored: stored, recipient: recipient, profiles: profiles)
        let context = MatchContext(
            stored: stored, event: event, workspace: workspace, version: version, configuration: configuration, recipient: recipient,
            scope: scope, time: time, cancellationTTL: cancellationTTL, replay: replay)
        var acted = false
        for mapping in mappings {
            let outcome = mapping.when?.evaluate(in: scope)
            if let outcome, !outcome.value {
                let seen = outcome.notes.isEmpty ? "" : " (\(outcome.notes.joined(separator: ", ")))"
                trace.check(mapping: mapping, condition: outcome, result: "condition `\(mapping.whenText ?? "")` was false\(seen)")
                continue
            }
            let result: MappingResult?
            switch mapping.action {
            case .cancel(let tokenTemplate):
                result = try cancel(tokenTemplate: tokenTemplate, context, effects)
            case .run(let name):
                result = try startRun(of: name, for: mapping, context, trace: &trace, effects)
            }
            guard let result else { continue }
            trace.check(mapping: mapping, condition: outcome, result: result.text)
            acted = acted || result.acted
        }
        if !acted && !resumed && trace.summary == nil { trace.summary = "no mapping for \"\(stored.name)\" acted" }
    }

    /// Why an event is too old to start or cancel anything (`max_event_age`), or nil.
    static func agePastLimit(_ stored: StoredEvent, limit: Duration?) -> String? {
        guard let limit else { return nil }
        let age = stored.receivedAt.millisecondsSince1970 - stored.timestamp.millisecondsSince1970
        guard age > limit.wholeMilliseconds else { return nil }
        return "the event happened \(DurationText.describe(milliseconds: age)) before it arrived (timestamp \(stored.timestamp.iso8601)), "
            + "more than max_event_age (\(DurationText.describe(milliseconds: limit.wholeMilliseconds))): it starts and cancels no automation; "
            + "profiles and groups were still updated"
    }

    /// What the mappings of one event are checked against.
    private struct MatchContext {
        let stored: StoredEvent
        let event: SegmentEvent
        let workspace: String
        let version: Int
        let configuration: HeraldConfiguration
        let recipient: String?
        let scope: JSONObject
        let time: Timestamp
        let cancellationTTL: Int64
        let replay: Bool
    }

    /// What a mapping did, for the explain trace.
    private struct MappingResult {
        let text: String
        /// Whether it changed anything (started or cancelled runs).
        let acted: Bool
    }

    /// A `cancel:` mapping: stops every pending run with the token, and keeps the token in
    /// force for the TTL so a run created just after is stopped too.
    private func cancel(tokenTemplate: String, _ context: MatchContext, _ effects: any EventTransaction) throws -> MappingResult {
        let token = TemplateRenderer.render(tokenTemplate, scope: context.scope) ?? tokenTemplate
        guard !context.replay else {
            return MappingResult(text: "not replayed: cancelling \"\(token)\" applies only when the event arrives", acted: false)
        }
        let ms = context.time.millisecondsSince1970
        let cancelled = try effects.cancelPendingRuns(workspace: context.workspace, token: token, at: ms)
        for automation in cancelled { metrics.run(automation: automation, state: "cancelled") }
        try effects.holdCancellation(workspace: context.workspace, token: token, until: ms + context.cancellationTTL)
        return MappingResult(text: "cancelled \(cancelled.count) pending run(s) with token \"\(token)\"", acted: true)
    }

    /// When a `once_per` mapping already ran for this user or group: the day it did.
    private func alreadyRan(_ mapping: HeraldConfiguration.Mapping, subject: String, _ context: MatchContext, _ effects: any EventTransaction) throws -> String? {
        guard let ranAt = try effects.oncePerRanAt(workspace: context.workspace, mappingKey: mapping.identity, subject: subject) else { return nil }
        return String(Timestamp(millisecondsSince1970: ranAt).iso8601.prefix(10))
    }

    /// Whether a cancellation of `token` is still in force.
    private func isCancelled(token: String, _ context: MatchContext, _ effects: any EventTransaction) throws -> Bool {
        let until = try effects.cancellationHeld(workspace: context.workspace, token: token)
        return until.map { $0 > context.time.millisecondsSince1970 } ?? false
    }

    /// A `run:` mapping: creates the run (pinned to the configuration version), unless it
    /// already ran for this event (replay) or for this user or group (`once_per`). Its steps
    /// are the step worker's: the run is created due now.
    private func startRun(
        of name: String, for mapping: HeraldConfiguration.Mapping, _ context: MatchContext, trace: inout EventTrace, _ effects: any EventTransaction
    ) throws -> MappingResult? {
        guard let automation = context.configuration.automations.first(where: { $0.name == name }) else { return nil }
        if context.replay, let existing = try effects.runStarted(byEventAt: context.stored.seq, automation: name) {
            return MappingResult(text: "run \(existing) of `\(name)` was already started for this event", acted: false)
        }
        let subject = mapping.oncePer == .group ? (context.event.groupId ?? context.event.context.groupId) : context.recipient
        if let scope = mapping.oncePer, let subject, let day = try alreadyRan(mapping, subject: subject, context, effects) {
            return MappingResult(text: "once_per \(scope.rawValue): already ran on \(day)", acted: false)
        }
        let token = automation.cancellationToken.map { TemplateRenderer.render($0, scope: context.scope) ?? $0 }
        let state = try token.map { try isCancelled(token: $0, context, effects) } == true ? "cancelled" : "pending"
        let ms = context.time.millisecondsSince1970
        // A leading `digest`: the event joins the recipient's open digest instead of starting a run.
        var digest: (key: DigestKey, settings: DigestSettings, item: JSONObject)?
        if state == "pending", let settings = context.configuration.leadingDigest(of: automation), let recipient = context.recipient {
            let key = DigestKey(
                workspace: context.workspace, automation: name, step: 0, recipient: recipient,
                key: settings.key.map { TemplateRenderer.render($0, scope: context.scope) ?? $0 } ?? "")
            let item = Digests.item(of: context.scope)
            if let joined = try effects.joinOpenDigest(key, item: item, at: ms) {
                if mapping.oncePer != nil, let subject {
                    try effects.recordOncePer(workspace: context.workspace, mappingKey: mapping.identity, subject: subject, at: ms)
                }
                metrics.digested(automation: name)
                return MappingResult(text: Digests.joinedText(joined, maxItems: settings.maxItems), acted: true)
            }
            digest = (key, settings, item)
        }
        let runId = try effects.startRun(
            NewRun(
                workspace: context.workspace, automation: name, configVersion: context.version, recipient: context.recipient,
                eventSeq: context.stored.seq, scope: JSONValue.object(context.scope).encodedString(), token: token, state: state),
            at: ms)
        trace.started(runId: runId, automation: name, state: state)
        var digestNote = ""
        if let digest {
            let closesAt = digest.settings.closesAt(openedAt: ms, in: RecipientTimeZone.of(context.scope, configuration: context.configuration))
            try effects.openDigest(digest.key, runId: runId, closesAt: closesAt, maxItems: digest.settings.maxItems, item: digest.item, at: ms)
            digestNote = Digests.openedText(key: digest.key.key, closesAt: closesAt)
        }
        metrics.run(automation: name, state: state)
        if mapping.oncePer != nil, let subject {
            try effects.recordOncePer(workspace: context.workspace, mappingKey: mapping.identity, subject: subject, at: ms)
        }
        let hours = context.cancellationTTL / 3_600_000
        return MappingResult(
            text: state == "pending"
                ? "started run \(runId) of `\(name)`" + digestNote
                : "run \(runId) of `\(name)` was created cancelled: token \"\(token ?? "")\" was cancelled within the last \(hours) h",
            acted: true)
    }

    /// Continues the recipient's runs waiting for this event whose `match` holds; returns
    /// whether any did. Each wait ends once: a second matching event finds it ended.
    private func resumeWaitingRuns(
        for stored: StoredEvent, recipient: String, scope: JSONObject, at time: Timestamp, trace: inout EventTrace, _ effects: any EventTransaction
    ) throws -> Bool {
        let ms = time.millisecondsSince1970
        var resumed = false
        for waiting in try effects.waitingRuns(workspace: stored.workspaceId, recipient: recipient, event: stored.name, at: ms) {
            var matchScope = scope
            matchScope["run"] = (try? JSONParser.parse(waiting.runScope)) ?? .object(JSONObject())
            if let text = waiting.matchText {
                guard let condition = try? Condition(parsing: text, roots: ConditionRoots.waitMatch) else { continue }
                let outcome = condition.evaluate(in: matchScope)
                guard outcome.value else {
                    let seen = outcome.notes.isEmpty ? "" : " (\(outcome.notes.joined(separator: ", ")))"
                    trace.effect("run \(waiting.runId) of `\(waiting.automation)` waits for \(stored.name), but `\(text)` was false\(seen)")
                    continue
                }
            }
            guard try effects.endWait(waitId: waiting.waitId, runId: waiting.runId, arrivedWith: stored.seq, at: ms) else { continue }
            trace.effect("continued run \(waiting.runId) of `\(waiting.automation)`, which was waiting for \(stored.name)")
            resumed = true
        }
        return resumed
    }

    /// The values conditions and templates see: `data`, `traits`, `profile`, `group`, `event`.
    static func scope(for event: SegmentEvent, stored: StoredEvent, recipient: String?, profiles: any ProfileTransaction) throws -> JSONObject {
        var eventObject = JSONObject()
        eventObject["messageId"] = .string(stored.messageId)
        eventObject["type"] = .string(stored.type)
        eventObject["name"] = .string(stored.name)
        eventObject["userId"] = stored.userId.map(JSONValue.string) ?? .null
        eventObject["anonymousId"] = stored.anonymousId.map(JSONValue.string) ?? .null
        eventObject["timestamp"] = .string(stored.timestamp.iso8601)
        eventObject["context"] = .object(event.context.json)
        let traits = (event.type == .identify || event.type == .group) ? event.traits.json : (event.context.traits?.json ?? JSONObject())
        let groupId = event.groupId ?? event.context.groupId
        var scope = JSONObject()
        scope["data"] = .object(event.courierData)
        scope["traits"] = .object(traits)
        scope["profile"] = .object(try recipient.flatMap { try profiles.traits(of: $0) } ?? JSONObject())
        scope["group"] = .object(try groupId.flatMap { try profiles.groupTraits(of: $0) } ?? JSONObject())
        scope["event"] = .object(eventObject)
        return scope
    }
}
