public import Foundation
import GRDB
public import SegmentSpec
import Synchronization

/// Consumes the event log in order: updates profiles and groups, checks the mappings of each
/// event's name, starts or cancels runs, and records an explain trace, all in the same
/// transaction that advances its cursor, so every event is processed exactly once even
/// across crashes. Ingest never waits for it.
public final class EventProcessor: Sendable {
    /// How long a cancellation token keeps stopping runs created after it (DESIGN: 24 h).
    public let cancellationTTL: Duration
    private let store: HeraldStore
    private let now: @Sendable () -> Timestamp
    private let configurations = Mutex<[String: (version: Int, configuration: HeraldConfiguration)]>([:])
    private let handoff: ParsedEventHandoff?
    private let backlog: EngineBacklog?
    /// An event of the log ready for processing: as stored, and parsed when the gathering
    /// pass could tell it will be needed (nil: parsed in the transaction if it is).
    private typealias Gathered = (stored: StoredEvent, event: SegmentEvent?)

    /// - Parameters:
    ///   - handoff: events the server's ``GroupCommitWriter`` appended, already parsed.
    ///   - backlog: where progress is reported to the writer's flow control.
    ///   - now: the clock; tests pass a fixed one.
    public init(
        store: HeraldStore, cancellationTTL: Duration = .seconds(24 * 3600), handoff: ParsedEventHandoff? = nil,
        backlog: EngineBacklog? = nil, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }
    ) {
        self.store = store
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
        let gathered = try await store.writer.read { db -> [Int64: Gathered] in
            let seqs = try Self.pendingPositions(limit: limit, db)
            var gathered: [Int64: Gathered] = [:]
            let handed = handoff?.take(seqs) ?? [:]
            for (seq, entry) in handed { gathered[seq] = (entry.stored, entry.event) }
            let missing = seqs.filter { gathered[$0] == nil }
            // Positions are few and increasing: one range read covers the missing ones.
            if let first = missing.first, let last = missing.last {
                let rows = try Row.fetchCursor(db, sql: "SELECT * FROM event WHERE seq BETWEEN ? AND ?", arguments: [first, last])
                let wanted = Set(missing)
                var configurations = ConfigurationsInTransaction()
                while let row = try rows.next() {
                    let stored = StoredEvent(row: row)
                    guard wanted.contains(stored.seq) else { continue }
                    let parse = try self.needsParsing(stored, configuration: self.inForce(for: stored.workspaceId, &configurations, db))
                    gathered[stored.seq] = (stored, parse ? stored.validatedEvent : nil)
                }
            }
            return gathered
        }
        // Nothing was committed past the cursor when the reader looked: no write transaction.
        guard !gathered.isEmpty else { return 0 }
        let (count, last) = try await store.writer.write { db -> (Int, Int64?) in
            let seqs = try Self.pendingPositions(limit: limit, db)
            guard !seqs.isEmpty else { return (0, nil) }
            var names = EventNameTally()
            var configurations = ConfigurationsInTransaction()
            let insertTrace = try db.cachedStatement(sql: "INSERT OR REPLACE INTO eventTrace (seq, workspaceId, trace) VALUES (?, ?, ?)")
            let readEvent = try db.cachedStatement(sql: "SELECT * FROM event WHERE seq = ?")
            for seq in seqs {
                let stored: StoredEvent
                let parsed: SegmentEvent?
                if let known = gathered[seq] {
                    (stored, parsed) = known
                } else {
                    guard let row = try Row.fetchOne(readEvent, arguments: [seq]) else { continue }
                    stored = StoredEvent(row: row)
                    parsed = nil
                }
                names.count(stored)
                var trace = EventTrace()
                try self.process(
                    stored, parsed: parsed, at: time, cancellationTTL: ttl, replay: false, configurations: &configurations, trace: &trace, db)
                try insertTrace.execute(arguments: [stored.seq, stored.workspaceId, trace.json.encodedString()])
            }
            try names.save(db)
            let last = seqs[seqs.count - 1]
            try db.execute(
                sql: "INSERT INTO engineCursor (id, lastSeq) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET lastSeq = excluded.lastSeq",
                arguments: [last])
            return (seqs.count, last)
        }
        if let last { backlog?.processed(through: last) }
        return count
    }

    /// The next `limit` positions of the log past the engine's cursor, in order.
    private static func pendingPositions(limit: Int, _ db: Database) throws -> [Int64] {
        let cursor = try Int64.fetchOne(db, sql: "SELECT lastSeq FROM engineCursor WHERE id = 1") ?? 0
        return try Int64.fetchAll(db, sql: "SELECT seq FROM event WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [cursor, limit])
    }

    /// The configuration in force per workspace, looked up once per transaction.
    private struct ConfigurationsInTransaction {
        var byWorkspace: [String: (version: Int, configuration: HeraldConfiguration)?] = [:]
    }

    /// The configuration in force for `workspace`, looked up once per transaction.
    private func inForce(
        for workspace: String, _ configurations: inout ConfigurationsInTransaction, _ db: Database
    ) throws -> (version: Int, configuration: HeraldConfiguration)? {
        if let known = configurations.byWorkspace[workspace] { return known }
        let found = try configuration(for: workspace, db)
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
    func evaluate(_ stored: StoredEvent, at time: Timestamp, cancellationTTL: Int64? = nil, replay: Bool, _ db: Database) throws -> EventTrace {
        var trace = EventTrace()
        var configurations = ConfigurationsInTransaction()
        try process(
            stored, parsed: nil, at: time, cancellationTTL: cancellationTTL ?? self.cancellationTTL.wholeMilliseconds, replay: replay,
            configurations: &configurations, trace: &trace, db)
        return trace
    }

    /// - Parameter parsed: the event already parsed from `stored.raw`, or nil to parse it here if it is needed.
    private func process(
        _ stored: StoredEvent, parsed: SegmentEvent?, at time: Timestamp, cancellationTTL: Int64, replay: Bool,
        configurations: inout ConfigurationsInTransaction, trace: inout EventTrace, _ db: Database
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
        let profiles = ProfileStore(db: db, workspace: workspace, time: time)
        // Profile and group calls update profiles whether or not anything is mapped to them.
        var applied: String??
        if !replay && Self.changesProfiles(stored.type) {
            guard let event = readEvent() else { return }
            applied = .some(try profiles.apply(event, trace: &trace))
        }
        guard let (version, configuration) = try inForce(for: workspace, &configurations, db) else {
            trace.summary = "no configuration applied to workspace \(workspace)"
            return
        }
        let mappings = configuration.mappings(for: stored.name)
        guard !mappings.isEmpty else {
            trace.summary = "no mapping for \"\(stored.name)\""
            return
        }
        guard let event = readEvent() else { return }
        // For any other call (or a replay), applying is only resolving the recipient's profile.
        let recipient = try applied ?? (replay ? profiles.recipient(of: event) : profiles.apply(event, trace: &trace))
        let scope = try Self.scope(for: event, stored: stored, recipient: recipient, profiles: profiles)
        var acted = false
        for mapping in mappings {
            let outcome = mapping.when?.evaluate(in: scope)
            if let outcome, !outcome.value {
                let seen = outcome.notes.isEmpty ? "" : " (\(outcome.notes.joined(separator: ", ")))"
                trace.check(mapping: mapping, condition: outcome, result: "condition `\(mapping.whenText ?? "")` was false\(seen)")
                continue
            }
            switch mapping.action {
            case .cancel(let tokenTemplate):
                let token = TemplateRenderer.render(tokenTemplate, scope: scope) ?? tokenTemplate
                guard !replay else {
                    trace.check(mapping: mapping, condition: outcome, result: "not replayed: cancelling \"\(token)\" applies only when the event arrives")
                    continue
                }
                try db.execute(
                    sql: "UPDATE run SET state = 'cancelled', updatedAt = ? WHERE workspaceId = ? AND token = ? AND state = 'pending'",
                    arguments: [time.millisecondsSince1970, workspace, token])
                let cancelled = db.changesCount
                try db.execute(
                    sql: "INSERT INTO cancellation (workspaceId, token, until) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET until = excluded.until",
                    arguments: [workspace, token, time.millisecondsSince1970 + cancellationTTL])
                trace.check(mapping: mapping, condition: outcome, result: "cancelled \(cancelled) pending run(s) with token \"\(token)\"")
                acted = true
            case .run(let name):
                guard let automation = configuration.automations.first(where: { $0.name == name }) else { continue }
                if replay, let existing = try Int64.fetchOne(
                    db, sql: "SELECT id FROM run WHERE eventSeq = ? AND automation = ? LIMIT 1", arguments: [stored.seq, name])
                {
                    trace.check(mapping: mapping, condition: outcome, result: "run \(existing) of `\(name)` was already started for this event")
                    continue
                }
                let subject = mapping.oncePer == .group ? (event.groupId ?? event.context.groupId) : recipient
                let ledgerKey = mapping.identity
                if mapping.oncePer != nil, let subject,
                    let ranAt = try Int64.fetchOne(
                        db, sql: "SELECT ranAt FROM oncePerLedger WHERE workspaceId = ? AND mappingKey = ? AND subject = ?",
                        arguments: [workspace, ledgerKey, subject])
                {
                    let day = String(Timestamp(millisecondsSince1970: ranAt).iso8601.prefix(10))
                    trace.check(mapping: mapping, condition: outcome, result: "once_per \(mapping.oncePer!.rawValue): already ran on \(day)")
                    continue
                }
                let token = automation.cancellationToken.map { TemplateRenderer.render($0, scope: scope) ?? $0 }
                var state = "pending"
                if let token,
                    let until = try Int64.fetchOne(db, sql: "SELECT until FROM cancellation WHERE workspaceId = ? AND token = ?", arguments: [workspace, token]),
                    until > time.millisecondsSince1970
                {
                    state = "cancelled"
                }
                // A leading unconditional fixed delay is taken at once, as the worker would take
                // it a moment later: the run starts out waiting, and the worker has one step less
                // to do. (`delay: {until:}` is left to the worker: it reads the profile as it is
                // when the step runs, which later events of this pass may still change.)
                let ms = time.millisecondsSince1970
                let leadingWait: (dueAt: Int64, outcome: String)?
                if state == "pending", let first = automation.steps.first, first.condition == nil, case .delay = first.action {
                    leadingWait = RunWorker.wait(for: first.action, scope: scope, at: ms)
                } else {
                    leadingWait = nil
                }
                try db.cachedStatement(
                    sql: """
                        INSERT INTO run (workspaceId, automation, configVersion, recipient, eventSeq, scope, token, state, nextStep, dueAt, createdAt, updatedAt)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(
                    arguments: [workspace, name, version, recipient ?? "", stored.seq, JSONValue.object(scope).encodedString(), token, state,
                                leadingWait == nil ? 0 : 1, leadingWait?.dueAt ?? ms, ms, ms])
                let runId = db.lastInsertedRowID
                if let leadingWait {
                    try db.cachedStatement(sql: "INSERT INTO runStep (runId, step, outcome, at) VALUES (?, 0, ?, ?)")
                        .execute(arguments: [runId, leadingWait.outcome, ms])
                }
                trace.started(runId: runId, automation: name, state: state)
                if mapping.oncePer != nil, let subject {
                    try db.execute(
                        sql: "INSERT INTO oncePerLedger (workspaceId, mappingKey, subject, ranAt) VALUES (?, ?, ?, ?)",
                        arguments: [workspace, ledgerKey, subject, time.millisecondsSince1970])
                }
                trace.check(mapping: mapping, condition: outcome, result: state == "pending"
                    ? "started run \(runId) of `\(name)`"
                    : "run \(runId) of `\(name)` was created cancelled: token \"\(token ?? "")\" was cancelled within the last \(cancellationTTL / 3_600_000) h")
                acted = true
            }
        }
        if !acted && trace.summary == nil { trace.summary = "no mapping for \"\(stored.name)\" acted" }
    }

    /// The values conditions and templates see: `data`, `traits`, `profile`, `group`, `event`.
    static func scope(for event: SegmentEvent, stored: StoredEvent, recipient: String?, profiles: ProfileStore) throws -> JSONObject {
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

    private func configuration(for workspace: String, _ db: Database) throws -> (version: Int, configuration: HeraldConfiguration)? {
        // The version alone is a cheap index look-up; the YAML is read and parsed once per version.
        guard let version = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM configVersion WHERE workspaceId = ?", arguments: [workspace])
        else { return nil }
        if let cached = configurations.withLock({ $0[workspace] }), cached.version == version { return (version, cached.configuration) }
        guard let yaml = try String.fetchOne(db, sql: "SELECT yaml FROM configVersion WHERE workspaceId = ? AND version = ?", arguments: [workspace, version]),
            // Applied configurations were validated when applied; matching needs no delivery secrets.
            let parsed = try? ConfigurationLoader.load(yaml: yaml, secrets: .none, requireSecrets: false)
        else { return nil }
        configurations.withLock { $0[workspace] = (version, parsed) }
        return (version, parsed)
    }
}
