import GRDB
public import SegmentSpec

/// A run of an automation as stored.
public struct RunRecord: Sendable, Hashable {
    /// The run's id.
    public let id: Int64
    /// The automation it runs.
    public let automation: String
    /// The configuration version pinned for the run's life.
    public let configVersion: Int
    /// The recipient's profile id.
    public let recipient: String
    /// The event that started it.
    public let eventSeq: Int64
    /// Its rendered cancellation token, if the automation has one.
    public let token: String?
    /// `pending`, `cancelled`, `completed` or `failed`.
    public let state: String
    /// Index of the next step to run.
    public let nextStep: Int
    /// When the next step is due.
    public let dueAt: Timestamp
    /// When the run was created and last changed.
    public let createdAt, updatedAt: Timestamp
    /// How many of its messages ended `undeliverable` or `unroutable` (0 when not read with them).
    public let failedMessages: Int
    /// The name of the event that started it (`track/Order Completed`), when it was read with it
    /// and the event is still stored.
    public let eventName: String?

    /// The state as an operator should read it: a run whose steps all ran but whose delivery
    /// failed is not plain `completed` (a webhook's 4xx, a missing secret, no address).
    public var stateDescription: String {
        failedMessages > 0 ? "\(state) with failures" : state
    }

    /// The columns a listed run is read with: the run, its failed messages, its event's name.
    static let listedColumns = """
        run.*, (SELECT COUNT(*) FROM message m WHERE m.runId = run.id AND m.status IN ('undeliverable', 'unroutable')) AS failedMessages,
        (SELECT e.name FROM event e WHERE e.seq = run.eventSeq) AS eventName
        """

    init(row: Row) {
        failedMessages = (row["failedMessages"] as Int?) ?? 0
        eventName = row["eventName"]
        id = row["id"]
        automation = row["automation"]
        configVersion = row["configVersion"]
        recipient = row["recipient"]
        eventSeq = row["eventSeq"]
        token = row["token"]
        state = row["state"]
        nextStep = row["nextStep"]
        dueAt = Timestamp(millisecondsSince1970: row["dueAt"])
        createdAt = Timestamp(millisecondsSince1970: row["createdAt"])
        updatedAt = Timestamp(millisecondsSince1970: row["updatedAt"])
    }
}

/// One entry of a run's step history.
public struct RunStepEntry: Sendable, Hashable {
    /// Index of the step in the automation.
    public let step: Int
    /// What the step did, in words.
    public let outcome: String
    /// When.
    public let at: Timestamp
}

/// Which runs to list. Pages run newest first: pass the last id as ``before``.
public struct RunQuery: Sendable, Hashable {
    /// `pending`, `cancelled`, `completed`, `failed`.
    public var state: String?
    /// The automation's name.
    public var automation: String?
    /// The recipient's profile id.
    public var recipient: String?
    /// Only runs the event at this position started.
    public var eventSeq: Int64?
    /// Only runs with ids below this one.
    public var before: Int64?
    /// At most this many.
    public var limit: Int

    /// A query; without arguments, the 50 most recent runs.
    public init(
        state: String? = nil, automation: String? = nil, recipient: String? = nil, eventSeq: Int64? = nil, before: Int64? = nil, limit: Int = 50
    ) {
        self.eventSeq = eventSeq
        self.state = state
        self.automation = automation
        self.recipient = recipient
        self.before = before
        self.limit = limit
    }
}

/// Why a run could not be cancelled.
public enum RunCancellationError: Error, Hashable, CustomStringConvertible {
    /// No run with that id in the workspace.
    case unknownRun(Int64)
    /// The run already ended.
    case notPending(id: Int64, state: String)

    public var description: String {
        switch self {
        case .unknownRun(let id): "no run \(id) in this workspace"
        case .notPending(let id, let state): "run \(id) is \(state), not pending; only pending runs can be cancelled"
        }
    }
}

extension HeraldStore {
    /// Every run of a workspace, oldest first.
    public func runs(workspace: String) async throws -> [RunRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(RunRecord.listedColumns) FROM run WHERE workspaceId = ? ORDER BY id", arguments: [workspace])
                .map(RunRecord.init(row:))
        }
    }

    /// The runs of a workspace matching `query`, newest first.
    public func runs(workspace: String, matching query: RunQuery) async throws -> [RunRecord] {
        var sql = "SELECT \(RunRecord.listedColumns) FROM run WHERE workspaceId = ?"
        var arguments: StatementArguments = [workspace]
        for (column, value) in [("state", query.state), ("automation", query.automation), ("recipient", query.recipient)] {
            guard let value else { continue }
            sql += " AND \(column) = ?"
            arguments += [value]
        }
        if let eventSeq = query.eventSeq {
            sql += " AND eventSeq = ?"  // index run_event
            arguments += [eventSeq]
        }
        if let before = query.before {
            sql += " AND id < ?"
            arguments += [before]
        }
        arguments += [query.limit]
        return try await writer.read { [sql, arguments] db in
            try Row.fetchAll(db, sql: sql + " ORDER BY id DESC LIMIT ?", arguments: arguments).map(RunRecord.init(row:))
        }
    }

    /// One run of a workspace.
    public func run(workspace: String, id: Int64) async throws -> RunRecord? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(RunRecord.listedColumns) FROM run WHERE workspaceId = ? AND id = ?", arguments: [workspace, id])
                .map(RunRecord.init(row:))
        }
    }

    /// A run's step history, oldest first.
    public func runHistory(runId: Int64) async throws -> [RunStepEntry] {
        try await writer.read { db in try Self.runHistory(runId: runId, db) }
    }

    static func runHistory(runId: Int64, _ db: Database) throws -> [RunStepEntry] {
        try Row.fetchAll(db, sql: "SELECT step, outcome, at FROM runStep WHERE runId = ? ORDER BY id", arguments: [runId])
            .map { RunStepEntry(step: $0["step"], outcome: $0["outcome"], at: Timestamp(millisecondsSince1970: $0["at"])) }
    }

    /// Cancels one pending run; its history records who cancelled it.
    /// - Throws: ``RunCancellationError`` when there is no such run or it already ended.
    @discardableResult
    public func cancelRun(workspace: String, id: Int64, reason: String, now: Timestamp) async throws -> RunRecord {
        try await writer.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM run WHERE workspaceId = ? AND id = ?", arguments: [workspace, id])
            else { throw RunCancellationError.unknownRun(id) }
            let run = RunRecord(row: row)
            guard run.state == "pending" else { throw RunCancellationError.notPending(id: id, state: run.state) }
            try db.execute(sql: "UPDATE run SET state = 'cancelled', updatedAt = ? WHERE id = ?", arguments: [now.millisecondsSince1970, id])
            try db.execute(
                sql: "INSERT INTO runStep (runId, step, outcome, at) VALUES (?, ?, ?, ?)",
                arguments: [id, run.nextStep, "cancelled: \(reason)", now.millisecondsSince1970])
            return try RunRecord(row: Row.fetchOne(db, sql: "SELECT * FROM run WHERE id = ?", arguments: [id])!)
        }
    }

    /// Cancels every pending run with this token and keeps the token in force for `ttl`, so
    /// a run created shortly after (an event that was still in flight) is stopped too, the
    /// way a `cancel:` mapping does. Returns the cancelled runs' ids and when the token lapses.
    public func cancelRuns(workspace: String, token: String, ttl: Duration, now: Timestamp) async throws -> (cancelled: [Int64], inForceUntil: Timestamp) {
        let ms = now.millisecondsSince1970
        let until = ms + ttl.wholeMilliseconds
        let ids = try await writer.write { db in
            let ids = try Int64.fetchAll(db, sql: "SELECT id FROM run WHERE workspaceId = ? AND token = ? AND state = 'pending' ORDER BY id", arguments: [workspace, token])
            for id in ids {
                try db.execute(sql: "UPDATE run SET state = 'cancelled', updatedAt = ? WHERE id = ?", arguments: [ms, id])
                try db.execute(
                    sql: "INSERT INTO runStep (runId, step, outcome, at) SELECT id, nextStep, ?, ? FROM run WHERE id = ?",
                    arguments: ["cancelled: token \"\(token)\" cancelled through the API", ms, id])
            }
            try db.execute(
                sql: "INSERT INTO cancellation (workspaceId, token, until) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET until = excluded.until",
                arguments: [workspace, token, until])
            return ids
        }
        return (ids, Timestamp(millisecondsSince1970: until))
    }
}

extension HeraldStore {
    /// When the earliest pending step is due, or nil when no run is pending.
    public func nextStepDue() async throws -> Timestamp? {
        try await writer.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(dueAt) FROM run WHERE state = 'pending'"))
                .map(Timestamp.init(millisecondsSince1970:))
        }
    }
}
