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
    /// `pending`, `cancelled` or `completed`.
    public let state: String
    /// Index of the next step to run.
    public let nextStep: Int
    /// When the next step is due.
    public let dueAt: Timestamp
}

extension HeraldStore {
    /// The explain trace recorded for an event, once the engine processed it.
    public func trace(seq: Int64) async throws -> JSONValue? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT trace FROM eventTrace WHERE seq = ?", arguments: [seq]).flatMap { try? JSONParser.parse($0) }
        }
    }

    /// The explain traces of these events (those the engine has processed), by seq.
    public func traces(seqs: [Int64]) async throws -> [Int64: JSONValue] {
        guard !seqs.isEmpty else { return [:] }
        return try await writer.read { db in
            var traces: [Int64: JSONValue] = [:]
            let placeholders = Array(repeating: "?", count: seqs.count).joined(separator: ",")
            for row in try Row.fetchAll(db, sql: "SELECT seq, trace FROM eventTrace WHERE seq IN (\(placeholders))", arguments: StatementArguments(seqs)) {
                traces[row["seq"]] = try? JSONParser.parse(row["trace"] as String)
            }
            return traces
        }
    }

    /// A profile's traits (following aliases), or nil when there is no such profile.
    public func profileTraits(workspace: String, id: String) async throws -> JSONObject? {
        try await writer.read { db in
            let profileId = try String.fetchOne(db, sql: "SELECT profileId FROM profileAlias WHERE workspaceId = ? AND alias = ?", arguments: [workspace, id]) ?? id
            return try String.fetchOne(db, sql: "SELECT traits FROM profile WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId])
                .flatMap { try? JSONParser.parse($0).objectValue }
        }
    }

    /// A group's traits and its members' profile ids.
    public func group(workspace: String, id: String) async throws -> (traits: JSONObject, members: [String])? {
        try await writer.read { db in
            guard let traits = try String.fetchOne(db, sql: "SELECT traits FROM groupRecord WHERE workspaceId = ? AND groupId = ?", arguments: [workspace, id])
                .flatMap({ try? JSONParser.parse($0).objectValue })
            else { return nil }
            let members = try String.fetchAll(db, sql: "SELECT profileId FROM membership WHERE workspaceId = ? AND groupId = ? ORDER BY profileId", arguments: [workspace, id])
            return (traits, members)
        }
    }

    /// Runs of a workspace, oldest first.
    public func runs(workspace: String) async throws -> [RunRecord] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM run WHERE workspaceId = ? ORDER BY id", arguments: [workspace]).map { row in
                RunRecord(
                    id: row["id"], automation: row["automation"], configVersion: row["configVersion"], recipient: row["recipient"],
                    eventSeq: row["eventSeq"], token: row["token"], state: row["state"], nextStep: row["nextStep"],
                    dueAt: Timestamp(millisecondsSince1970: row["dueAt"]))
            }
        }
    }
}

/// A message as stored, with its status history.
public struct MessageRecord: Sendable, Hashable {
    /// Stable id: `run-<run>-step-<index>`.
    public let id: String
    /// The recipient's profile id.
    public let recipient: String
    /// The channel name, when one was found.
    public let channel: String?
    /// The template it was rendered from.
    public let template: String
    /// Rendered subject.
    public let subject: String?
    /// Rendered body.
    public let body: String?
    /// Current status: sent, delivered, undeliverable, unroutable.
    public let status: String
    /// Every status with its reason, oldest first.
    public let history: [(status: String, reason: String?)]

    public static func == (lhs: MessageRecord, rhs: MessageRecord) -> Bool { lhs.id == rhs.id && lhs.status == rhs.status }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

extension HeraldStore {
    /// Messages of a workspace (optionally of one recipient), oldest first.
    public func messages(workspace: String, recipient: String? = nil) async throws -> [MessageRecord] {
        try await writer.read { db in
            var sql = "SELECT * FROM message WHERE workspaceId = ?"
            var arguments: StatementArguments = [workspace]
            if let recipient {
                sql += " AND recipient = ?"
                arguments += [recipient]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY createdAt, id", arguments: arguments).map { row in
                let id: String = row["id"]
                let history = try Row.fetchAll(db, sql: "SELECT status, reason FROM messageStatus WHERE messageId = ? ORDER BY id", arguments: [id])
                    .map { (status: $0["status"] as String, reason: $0["reason"] as String?) }
                return MessageRecord(id: id, recipient: row["recipient"], channel: row["channel"], template: row["template"],
                                     subject: row["subject"], body: row["body"], status: row["status"], history: history)
            }
        }
    }

    /// A run's step history: `(step index, outcome)`, oldest first.
    public func runHistory(runId: Int64) async throws -> [(step: Int, outcome: String)] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "SELECT step, outcome FROM runStep WHERE runId = ? ORDER BY id", arguments: [runId])
                .map { (step: $0["step"] as Int, outcome: $0["outcome"] as String) }
        }
    }
}
