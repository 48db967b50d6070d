import GRDB
import SegmentSpec

/// Counts the event names the engine consumed in one transaction, so the `eventName` table
/// (what arrived, how often, when last; the basis of "unmapped events") costs one upsert
/// per distinct name and batch instead of one per event.
///
/// Its memory is bounded whatever names an ingest key sends: it lives for one engine pass,
/// which takes at most `processPending(limit:)` events (500), so it holds at most that many
/// names of at most an event's 32 KB each. The names themselves go to the table, which is read
/// a page at a time (``HeraldStore/unmappedEventNames(workspace:after:limit:)``).
struct EventNameTally {
    private var counts: [Key: (count: Int, lastSeenAt: Int64)] = [:]

    private struct Key: Hashable {
        let workspace: String
        let name: String
    }

    mutating func count(_ event: StoredEvent) {
        let key = Key(workspace: event.workspaceId, name: event.name)
        let seen = event.receivedAt.millisecondsSince1970
        if let current = counts[key] {
            counts[key] = (current.count + 1, max(current.lastSeenAt, seen))
        } else {
            counts[key] = (1, seen)
        }
    }

    func save(_ db: Database) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO eventName (workspaceId, name, count, lastSeenAt) VALUES (?, ?, ?, ?)
            ON CONFLICT (workspaceId, name) DO UPDATE SET count = count + excluded.count, lastSeenAt = MAX(lastSeenAt, excluded.lastSeenAt)
            """)
        for (key, value) in counts {
            try upsert.execute(arguments: [key.workspace, key.name, value.count, value.lastSeenAt])
        }
    }
}
