import GRDB
import SegmentSpec

/// The notification controls' storage (digests, waits, frequency caps) in the event
/// processor's and the step worker's transactions: the operations forward to
/// ``DigestRecords``, ``RunWaits`` and ``SendLedger``.

/// A transaction of the SQLite store over one connection: the event processor's and the step
/// worker's both take part in digests, through the same records.
protocol DigestParticipant {
    var db: Database { get }
}

extension DigestParticipant {
    func joinOpenDigest(_ key: DigestKey, item: JSONObject, at ms: Int64) throws -> DigestJoin? {
        try DigestRecords(db: db).joinOpenDigest(key, item: item, at: ms)
    }

    func openDigest(_ key: DigestKey, runId: Int64, closesAt: Int64, maxItems: Int, item: JSONObject, at ms: Int64) throws {
        try DigestRecords(db: db).openDigest(key, runId: runId, closesAt: closesAt, maxItems: maxItems, item: item, at: ms)
    }

    func digest(collectedBy runId: Int64, step: Int) throws -> OwnedDigest? {
        try DigestRecords(db: db).digest(collectedBy: runId, step: step)
    }

    func closeDigest(collectedBy runId: Int64, step: Int, at ms: Int64) throws {
        try DigestRecords(db: db).closeDigest(collectedBy: runId, step: step, at: ms)
    }
}

extension EventEffects: DigestParticipant {}
extension RunSteps: DigestParticipant {}

extension EventEffects {
    func hasWaitingRuns(workspace: String, event: String) throws -> Bool {
        try RunWaits(db: db).hasWaitingRuns(workspace: workspace, event: event)
    }

    func waitingRuns(workspace: String, recipient: String, event: String, at ms: Int64) throws -> [WaitingRun] {
        try RunWaits(db: db).waitingRuns(workspace: workspace, recipient: recipient, event: event, at: ms)
    }

    func endWait(waitId: Int64, runId: Int64, arrivedWith seq: Int64, at ms: Int64) throws -> Bool {
        try RunWaits(db: db).endWait(waitId: waitId, runId: runId, arrivedWith: seq, at: ms)
    }
}

extension RunSteps {
    func postpone(runId: Int64, dueAt: Int64, at ms: Int64) throws {
        try db.cachedStatement(sql: "UPDATE run SET dueAt = ?, updatedAt = ? WHERE id = ?").execute(arguments: [dueAt, ms, runId])
    }

    func noteOnTrace(ofEventAt seq: Int64, _ text: String) throws {
        guard let stored = try String.fetchOne(db.cachedStatement(sql: "SELECT trace FROM eventTrace WHERE seq = ?"), arguments: [seq]),
              var trace = try? JSONParser.parse(stored).objectValue
        else { return }
        // Many deferrals of one run must not grow a trace without bound.
        var effects = trace["effects"]?.arrayValue ?? []
        guard effects.count < 100 else { return }
        effects.append(.string(text))
        trace["effects"] = .array(effects)
        try db.cachedStatement(sql: "UPDATE eventTrace SET trace = ? WHERE seq = ?").execute(arguments: [JSONValue.object(trace).encodedString(), seq])
    }

    func admitSend(_ send: CountedSend, caps: [SendCap], at ms: Int64) throws -> CapRefusal? {
        try SendLedger(db: db).admit(send, caps: caps, at: ms)
    }

    func startWait(runId: Int64, step: Int, workspace: String, recipient: String, event: String, matchText: String?, deadline: Int64, at ms: Int64) throws {
        try RunWaits(db: db).startWait(
            runId: runId, step: step, workspace: workspace, recipient: recipient, event: event, matchText: matchText, deadline: deadline, at: ms)
    }

    func wait(runId: Int64, step: Int) throws -> RunWait? {
        try RunWaits(db: db).wait(runId: runId, step: step)
    }

    func timeOutWait(runId: Int64, step: Int, at ms: Int64) throws -> Bool {
        try RunWaits(db: db).timeOutWait(runId: runId, step: step, at: ms)
    }
}
