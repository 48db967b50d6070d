import GRDB
public import SegmentSpec

/// Sends counted against frequency caps, in SQLite: table `sendLedger`, one row per counted
/// send. A cap counts the rows of the recipient within its window that match its filters;
/// the single writer serialises checks, and the row is written in the transaction of the send.
struct SendLedger {
    let db: Database

    func admit(_ send: CountedSend, caps: [SendCap], at ms: Int64) throws -> CapRefusal? {
        for (index, cap) in caps.enumerated() {
            var sql = "SELECT at FROM sendLedger WHERE workspaceId = ? AND recipient = ? AND at > ?"
            var arguments: StatementArguments = [send.workspace, send.recipient, ms - cap.window]
            if let channel = cap.channel {
                sql += " AND channel = ?"
                arguments += [channel]
            }
            if let topic = cap.topic {
                sql += " AND topic = ?"
                arguments += [topic]
            }
            if let automation = cap.automation {
                sql += " AND automation = ? AND throttleKey = ?"
                arguments += [automation, cap.throttleKey ?? ""]
            }
            // The `max`-th most recent counted send in the window, without fetching the others:
            // if there is one, the cap is reached, and one more send is allowed when it leaves the window.
            sql += " ORDER BY at DESC LIMIT 1 OFFSET ?"
            arguments += [cap.max - 1]
            if let oldest = try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: arguments) {
                return CapRefusal(index: index, allowedAt: oldest + cap.window)
            }
        }
        try db.cachedStatement(
            sql: "INSERT INTO sendLedger (workspaceId, recipient, channel, topic, automation, throttleKey, at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        ).execute(arguments: [send.workspace, send.recipient, send.channel, send.topic, send.automation, send.throttleKey, ms])
        return nil
    }
}

extension HeraldStore {
    /// Removes counted sends no cap of their workspace's configuration in force can count any
    /// more (older than its longest cap window; all of them when it has no caps), `batchSize`
    /// per transaction; returns how many. A workspace whose configuration no longer parses
    /// keeps its ledger.
    public func pruneCapLedger(now: Timestamp, batchSize: Int) async throws -> Int {
        precondition(batchSize > 0, "batchSize must be positive")
        let workspaces = try await writer.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT workspaceId FROM sendLedger") }
        var removed = 0
        for workspace in workspaces {
            guard let version = try await currentConfiguration(workspace: workspace)?.version else { continue }
            let configuration: HeraldConfiguration?
            do {
                configuration = try await self.configuration(workspace: workspace, version: version)
            } catch is ConfigurationError {
                continue
            }
            let window = configuration?.longestCapWindow.map(\.wholeMilliseconds) ?? 0
            let cutoff = now.millisecondsSince1970 - window
            while true {
                let batch = try await writer.write { db in
                    try db.execute(
                        sql: "DELETE FROM sendLedger WHERE id IN (SELECT id FROM sendLedger WHERE workspaceId = ? AND at <= ? LIMIT ?)",
                        arguments: [workspace, cutoff, batchSize])
                    return db.changesCount
                }
                removed += batch
                if batch < batchSize { break }
            }
        }
        return removed
    }
}
