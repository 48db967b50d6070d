import GRDB

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
