import Foundation
import GRDB
public import SegmentSpec

/// Retention's SQL: removing what is finished and older than a cutoff, a batch per
/// transaction so that ingest never waits long for the writer.
///
/// Events, messages and runs are read from their oldest row up (rowid order, which is
/// creation order), never through a scan of the whole table: a pass stops at the first row
/// created after the cutoff.
extension HeraldStore {
    /// Removes up to `batchSize` records of `kind` older than `cutoff`, in one transaction;
    /// returns how many. Call again until it returns less than `batchSize`.
    public func prune(_ kind: RetainedRecord, olderThan cutoff: Timestamp, batchSize: Int) async throws -> Int {
        precondition(batchSize > 0, "batchSize must be positive")
        let ms = cutoff.millisecondsSince1970
        return try await writer.write { db in
            switch kind {
            case .events: try Self.pruneEvents(db, before: ms, limit: batchSize)
            case .messages: try Self.pruneMessages(db, before: ms, limit: batchSize)
            case .runs: try Self.pruneRuns(db, before: ms, limit: batchSize)
            case .segmentCalls: try Self.pruneRefusedSegmentCalls(db, before: ms, limit: batchSize)
            }
        }
    }

    /// How many records of `kind` a prune at `cutoff` would remove now.
    public func countPrunable(_ kind: RetainedRecord, olderThan cutoff: Timestamp) async throws -> Int {
        let ms = cutoff.millisecondsSince1970
        return try await writer.read { db in
            switch kind {
            case .events:
                let boundary = try Self.oldestEventToKeep(db, before: ms)
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event WHERE seq <= ?", arguments: [boundary]) ?? 0
            case .messages:
                return try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM message WHERE createdAt < ? AND updatedAt < ? AND status != ?",
                    arguments: [ms, ms, MessageStatus.queued.rawValue]) ?? 0
            case .runs:
                return try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM run WHERE createdAt < ? AND updatedAt < ? AND state != 'pending'", arguments: [ms, ms]) ?? 0
            case .segmentCalls:
                return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM segmentOutbox WHERE state = 'rejected' AND createdAt < ?", arguments: [ms]) ?? 0
            }
        }
    }

    /// The newest seq that may go: older than `ms` and processed by the engine, with every
    /// event before it the same (the first younger or unprocessed event ends the range).
    private static func oldestEventToKeep(_ db: Database, before ms: Int64) throws -> Int64 {
        let processed = try Int64.fetchOne(db, sql: "SELECT lastSeq FROM engineCursor WHERE id = 1") ?? 0
        let firstYoung = try Int64.fetchOne(db, sql: "SELECT seq FROM event WHERE receivedAt >= ? ORDER BY seq LIMIT 1", arguments: [ms])
        return min(processed, (firstYoung ?? Int64.max) - 1)
    }

    private static func pruneEvents(_ db: Database, before ms: Int64, limit: Int) throws -> Int {
        let processed = try Int64.fetchOne(db.cachedStatement(sql: "SELECT lastSeq FROM engineCursor WHERE id = 1")) ?? 0
        let oldest = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT seq, receivedAt FROM event WHERE seq <= ? ORDER BY seq LIMIT ?"), arguments: [processed, limit])
        // The oldest events are the smallest seqs: everything up to the last old one goes.
        var last: Int64?
        for row in oldest {
            guard (row["receivedAt"] as Int64) < ms else { break }
            last = row["seq"]
        }
        guard let last else { return 0 }
        try db.execute(sql: "DELETE FROM eventTrace WHERE seq <= ?", arguments: [last])
        try db.execute(sql: "DELETE FROM event WHERE seq <= ?", arguments: [last])
        return db.changesCount
    }

    private static func pruneMessages(_ db: Database, before ms: Int64, limit: Int) throws -> Int {
        let ids: [String] = try finishedRows(
            db, table: "message", stateColumn: "status", active: MessageStatus.queued.rawValue, before: ms, limit: limit)
        for id in ids {
            try db.cachedStatement(sql: "DELETE FROM messageStatus WHERE messageId = ?").execute(arguments: [id])
            try db.cachedStatement(sql: "DELETE FROM message WHERE id = ?").execute(arguments: [id])
        }
        return ids.count
    }

    private static func pruneRuns(_ db: Database, before ms: Int64, limit: Int) throws -> Int {
        let ids: [Int64] = try finishedRows(db, table: "run", stateColumn: "state", active: "pending", before: ms, limit: limit)
        for id in ids {
            try db.cachedStatement(sql: "DELETE FROM runStep WHERE runId = ?").execute(arguments: [id])
            // What an ended run collected and waited for goes with it (an ended run's digest is closed).
            try db.cachedStatement(sql: "DELETE FROM digestItem WHERE digestId IN (SELECT id FROM digest WHERE runId = ?)").execute(arguments: [id])
            try db.cachedStatement(sql: "DELETE FROM digest WHERE runId = ?").execute(arguments: [id])
            try db.cachedStatement(sql: "DELETE FROM runWait WHERE runId = ?").execute(arguments: [id])
            try db.cachedStatement(sql: "DELETE FROM run WHERE id = ?").execute(arguments: [id])
        }
        return ids.count
    }

    /// Up to `limit` ids of `table`'s rows created and last changed before `ms` whose state is
    /// not `active`, read from the oldest row up (rowid order) and no further than the first
    /// row created after `ms`.
    private static func finishedRows<ID: DatabaseValueConvertible>(
        _ db: Database, table: String, stateColumn: String, active: String, before ms: Int64, limit: Int
    ) throws -> [ID] {
        var ids: [ID] = []
        var after: Int64 = 0
        scan: while ids.count < limit {
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT rowid AS position, id, \(stateColumn) AS state, createdAt, updatedAt FROM \(table) WHERE rowid > ? ORDER BY rowid LIMIT ?"),
                arguments: [after, limit])
            for row in rows {
                after = row["position"]
                guard (row["createdAt"] as Int64) < ms else { break scan }
                if (row["updatedAt"] as Int64) < ms && (row["state"] as String) != active {
                    ids.append(row["id"])
                    if ids.count == limit { break scan }
                }
            }
            if rows.count < limit { break }
        }
        return ids
    }

    private static func pruneRefusedSegmentCalls(_ db: Database, before ms: Int64, limit: Int) throws -> Int {
        try db.execute(
            sql: "DELETE FROM segmentOutbox WHERE id IN (SELECT id FROM segmentOutbox WHERE state = 'rejected' AND createdAt < ? ORDER BY id LIMIT ?)",
            arguments: [ms, limit])
        return db.changesCount
    }
}
