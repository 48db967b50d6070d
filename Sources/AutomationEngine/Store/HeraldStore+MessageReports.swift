import GRDB
public import SegmentSpec

/// What a provider (or a tracking link) reports about a message after it was sent.
public enum MessageReport: Sendable, Hashable {
    /// The provider delivered it.
    case delivered
    /// The recipient opened it.
    case opened
    /// The recipient clicked `url` in it.
    case clicked(url: String)
    /// It bounced, or the provider gave up: with the provider's reason.
    case undeliverable(reason: String)

    /// The status it reports.
    public var status: MessageStatus {
        switch self {
        case .delivered: .delivered
        case .opened: .opened
        case .clicked: .clicked
        case .undeliverable: .undeliverable
        }
    }
}

/// What recording a report did.
public struct MessageReportResult: Sendable, Hashable {
    /// The message afterwards.
    public let message: MessageRecord
    /// Whether the report added to the message's history (false: a repeat, or a report that
    /// would move its status backwards; then ``note`` says why).
    public let recorded: Bool
    /// Why a report was not recorded, or nil.
    public let note: String?
    /// Opens and clicks reported so far (every one, the first included).
    public let opens: Int
    public let clicks: Int
}

/// Where a message came from: its workspace, its channel, and the configuration version its
/// run is pinned to (where the channel's signing secret is).
public struct MessageOrigin: Sendable, Hashable {
    public let workspace: String
    public let channel: String?
    public let configVersion: Int
}

extension HeraldStore {
    /// The order statuses move in after sending; a report never moves a message back down it.
    static func progress(_ status: MessageStatus) -> Int? {
        switch status {
        case .queued: 0
        case .sent: 1
        case .delivered: 2
        case .opened: 3
        case .clicked: 4
        case .undeliverable, .unroutable, .skipped: nil
        }
    }

    /// Where message `id` came from, in whichever workspace it is.
    public func messageOrigin(id: String) async throws -> MessageOrigin? {
        try await writer.read { db in
            try Row.fetchOne(
                db, sql: "SELECT m.workspaceId, m.channel, r.configVersion FROM message m JOIN run r ON r.id = m.runId WHERE m.id = ?",
                arguments: [id]
            ).map { MessageOrigin(workspace: $0["workspaceId"], channel: $0["channel"], configVersion: $0["configVersion"]) }
        }
    }

    /// Records `report` for message `id` of `workspace` in one transaction, with its Segment
    /// event (`SegmentOutbox`). Idempotent, and statuses never go backwards:
    /// - `delivered` moves a `queued` or `sent` message to `delivered`; a repeat does nothing.
    /// - The first `opened` and the first `clicked` are added to the history and sent to
    ///   Segment once; the status becomes the furthest reached (an open after a click is
    ///   recorded, the status stays `clicked`). Later ones are only counted.
    /// - `undeliverable` (a bounce) applies to a message not yet opened or clicked.
    /// - A message that was never sent (`unroutable`, `skipped`) takes no report.
    /// Nil when the workspace has no such message.
    public func recordReport(_ report: MessageReport, messageId id: String, workspace: String, at time: Timestamp) async throws -> MessageReportResult? {
        let ms = time.millisecondsSince1970
        return try await writer.write { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT status, openCount, clickCount FROM message WHERE workspaceId = ? AND id = ?", arguments: [workspace, id])
            else { return nil }
            let current = MessageStatus(rawValue: row["status"]) ?? .queued
            var opens: Int = row["openCount"]
            var clicks: Int = row["clickCount"]
            var note: String?
            var entry: (status: MessageStatus, reason: String)?
            var newStatus = current
            switch report {
            case _ where current == .unroutable || current == .skipped:
                note = "message \(id) was never sent (it is \(current.rawValue)); nothing recorded"
            case .delivered:
                if current == .queued || current == .sent {
                    entry = (.delivered, "the provider reported it delivered")
                    newStatus = .delivered
                } else {
                    note = "message \(id) is \(current.rawValue) already; a later status is not moved back"
                }
            case .opened, .clicked:
                let first = report == .opened ? opens == 0 : clicks == 0
                if report == .opened { opens += 1 } else { clicks += 1 }
                if current == .undeliverable {
                    note = "message \(id) is undeliverable; the report is counted, the status stays"
                } else if first {
                    if case .clicked(let url) = report { entry = (.clicked, "clicked \(url)") } else { entry = (.opened, "opened") }
                    if let reached = Self.progress(current), reached < Self.progress(report.status)! { newStatus = report.status }
                } else {
                    note = "message \(id) was \(report.status.rawValue) before; counted"
                }
            case .undeliverable(let reason):
                switch current {
                case .queued, .sent, .delivered:
                    entry = (.undeliverable, reason)
                    newStatus = .undeliverable
                case .undeliverable:
                    note = "message \(id) is undeliverable already"
                default:
                    note = "message \(id) was \(current.rawValue); a bounce does not move it back"
                }
            }
            try db.execute(
                sql: """
                    UPDATE message SET status = ?, openCount = ?, clickCount = ?, updatedAt = ?,
                        nextAttemptAt = CASE WHEN ? = 'queued' THEN nextAttemptAt ELSE NULL END,
                        leaseUntil = CASE WHEN ? = 'queued' THEN leaseUntil ELSE NULL END
                    WHERE id = ?
                    """,
                arguments: [newStatus.rawValue, opens, clicks, ms, newStatus.rawValue, newStatus.rawValue, id])
            if let entry {
                try db.execute(sql: "INSERT INTO messageStatus (messageId, status, reason, at) VALUES (?, ?, ?, ?)",
                               arguments: [id, entry.status.rawValue, entry.reason, ms])
                var url: String?
                if case .clicked(let clicked) = report { url = clicked }
                try outbox(db).enqueueMessageEvent(messageId: id, status: entry.status, reason: entry.reason, url: url, at: ms)
            }
            let message = try Self.messages(db, sql: "SELECT rowid, * FROM message WHERE id = ?", arguments: [id])[0]
            return MessageReportResult(message: message, recorded: entry != nil, note: note, opens: opens, clicks: clicks)
        }
    }
}
