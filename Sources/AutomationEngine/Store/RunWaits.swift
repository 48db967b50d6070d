import GRDB

/// `wait_for` steps in SQLite: table `runWait`, one row per run and step. Its state moves once,
/// from `waiting` to `arrived` (the event processor) or `timed_out` (the step worker), each
/// by a conditional update, so exactly one of the two outcomes wins.
struct RunWaits {
    let db: Database

    func hasWaitingRuns(workspace: String, event: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM runWait WHERE workspaceId = ? AND event = ? AND state = 'waiting')"),
            arguments: [workspace, event]) ?? false
    }

    func waitingRuns(workspace: String, recipient: String, event: String, at ms: Int64) throws -> [WaitingRun] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT runWait.id AS waitId, runWait.runId, run.automation, run.scope, runWait.matchText, runWait.deadline
                    FROM runWait JOIN run ON run.id = runWait.runId
                    WHERE runWait.workspaceId = ? AND runWait.event = ? AND runWait.recipient = ? AND runWait.state = 'waiting'
                      AND runWait.deadline > ? AND run.state = 'pending'
                    ORDER BY runWait.id
                    """),
            arguments: [workspace, event, recipient, ms]
        ).map { row in
            WaitingRun(waitId: row["waitId"], runId: row["runId"], automation: row["automation"], runScope: row["scope"], matchText: row["matchText"],
                       deadline: row["deadline"])
        }
    }

    func endWait(waitId: Int64, runId: Int64, arrivedWith seq: Int64, at ms: Int64) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE runWait SET state = 'arrived', eventSeq = ?, endedAt = ? WHERE id = ? AND state = 'waiting'")
            .execute(arguments: [seq, ms, waitId])
        guard db.changesCount == 1 else { return false }
        try db.cachedStatement(sql: "UPDATE run SET dueAt = ?, updatedAt = ? WHERE id = ? AND state = 'pending'").execute(arguments: [ms, ms, runId])
        return true
    }

    func startWait(runId: Int64, step: Int, workspace: String, recipient: String, event: String, matchText: String?, deadline: Int64, at ms: Int64) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO runWait (runId, step, workspaceId, recipient, event, matchText, deadline, state, startedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?)
                """
        ).execute(arguments: [runId, step, workspace, recipient, event, matchText, deadline, ms])
    }

    func wait(runId: Int64, step: Int) throws -> RunWait? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT state, deadline, eventSeq FROM runWait WHERE runId = ? AND step = ?"), arguments: [runId, step])
            .map { RunWait(state: WaitState(rawValue: $0["state"]) ?? .waiting, deadline: $0["deadline"], eventSeq: $0["eventSeq"]) }
    }

    func timeOutWait(runId: Int64, step: Int, at ms: Int64) throws -> Bool {
        try db.cachedStatement(sql: "UPDATE runWait SET state = 'timed_out', endedAt = ? WHERE runId = ? AND step = ? AND state = 'waiting'")
            .execute(arguments: [ms, runId, step])
        return db.changesCount == 1
    }
}
