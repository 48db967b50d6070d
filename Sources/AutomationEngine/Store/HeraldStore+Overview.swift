import GRDB
public import SegmentSpec

extension HeraldStore {
    /// The overview of `workspace`: events per minute over the `minutes` before `now`,
    /// messages of the last `messageWindow` by channel and status, and the engine's backlog.
    public func overview(workspace: String, minutes: Int, messageWindow: Duration, now: Timestamp) async throws -> WorkspaceOverview {
        let nowMs = now.millisecondsSince1970
        // Whole minutes, so a bar is a minute on the clock.
        let end = (nowMs / 60_000 + 1) * 60_000
        let since = end - Int64(minutes) * 60_000
        let messagesSince = nowMs - messageWindow.wholeMilliseconds
        let bound = WorkspaceOverview.maximumRowsCounted
        return try await writer.read { db in
            var perMinute = [Int](repeating: 0, count: minutes)
            // The newest events through `event_recent` (workspace, seq), bounded: no scan of history.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT (receivedAt - ?) / 60000 AS minute, COUNT(*) AS count
                    FROM (SELECT receivedAt FROM event WHERE workspaceId = ? ORDER BY seq DESC LIMIT ?)
                    WHERE receivedAt >= ? GROUP BY minute
                    """,
                arguments: [since, workspace, bound, since])
            for row in rows {
                let minute: Int = row["minute"]
                if (0..<minutes).contains(minute) { perMinute[minute] = row["count"] }
            }
            let byChannel = try Row.fetchAll(
                db,
                sql: """
                    SELECT COALESCE(channel, '(none)') AS channel, status, COUNT(*) AS count
                    FROM (SELECT channel, status, createdAt FROM message WHERE workspaceId = ? ORDER BY rowid DESC LIMIT ?)
                    WHERE createdAt >= ? GROUP BY 1, 2 ORDER BY 1, 2
                    """,
                arguments: [workspace, bound, messagesSince]
            ).map { WorkspaceOverview.ChannelStatusCount(channel: $0["channel"], status: $0["status"], count: $0["count"]) }
            let cursor = try Int64.fetchOne(db, sql: "SELECT lastSeq FROM engineCursor WHERE id = 1") ?? 0
            let unprocessed = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM event WHERE workspaceId = ? AND seq > ? LIMIT ?)", arguments: [workspace, cursor, bound]) ?? 0
            let oldest = try Int64.fetchOne(
                db, sql: "SELECT receivedAt FROM event WHERE workspaceId = ? AND seq > ? ORDER BY seq LIMIT 1", arguments: [workspace, cursor])
            return WorkspaceOverview(
                eventsPerMinute: perMinute, since: Timestamp(millisecondsSince1970: since), messagesByChannelAndStatus: byChannel,
                unprocessedEvents: unprocessed, oldestUnprocessedAt: oldest.map(Timestamp.init(millisecondsSince1970:)))
        }
    }
}
