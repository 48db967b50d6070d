import Foundation
import GRDB
public import SegmentSpec

/// One recorded change of a recipient's preferences.
public struct PreferenceChangeRecord: Sendable, Hashable {
    /// The choice made.
    public let choice: PreferenceChoice
    /// Where it came from (``PreferenceSource``).
    public let source: String
    /// When.
    public let at: Timestamp
}

/// The preference reads and writes inside a transaction the caller holds.
struct PreferenceRecords {
    let db: Database
    let workspace: String
    /// Where changes are reported to the workspace's Segment source (nil: reads only).
    var store: HeraldStore? = nil

    /// The recipient's current choices.
    func choices(of profileId: String) throws -> [PreferenceRecord] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT topic, channel, status, source, updatedAt FROM preference WHERE workspaceId = ? AND profileId = ?"),
            arguments: [workspace, profileId]
        ).map { row in
            PreferenceRecord(
                choice: PreferenceChoice(topic: row["topic"], channel: row["channel"], status: PreferenceStatus(rawValue: row["status"]) ?? .optOut),
                source: row["source"], updatedAt: Timestamp(millisecondsSince1970: row["updatedAt"]))
        }
    }

    /// Records `choices` from `source`; only those that change something are written and
    /// logged. Returns the changes made.
    func apply(_ choices: [PreferenceChoice], profileId: String, source: String, at ms: Int64) throws -> [PreferenceChangeRecord] {
        let current = try self.choices(of: profileId)
        var changes: [PreferenceChangeRecord] = []
        for choice in choices {
            if current.contains(where: { $0.choice == choice }) { continue }
            try db.cachedStatement(sql: """
                INSERT INTO preference (workspaceId, profileId, topic, channel, status, source, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (workspaceId, profileId, topic, channel) DO UPDATE SET status = excluded.status, source = excluded.source, updatedAt = excluded.updatedAt
                """).execute(arguments: [workspace, profileId, choice.topic, choice.channel, choice.status.rawValue, source, ms])
            try log(choice, profileId: profileId, source: source, at: ms)
            changes.append(PreferenceChangeRecord(choice: choice, source: source, at: Timestamp(millisecondsSince1970: ms)))
        }
        return changes
    }

    /// Appends a change to the recipient's history and, in the same transaction, writes
    /// `User Subscribed` / `User Unsubscribed` to the workspace's Segment outbox (when it
    /// sends to Segment), attributed to the profile's `userId` (else its profile id).
    func log(_ choice: PreferenceChoice, profileId: String, source: String, at ms: Int64) throws {
        try db.cachedStatement(sql: """
            INSERT INTO preferenceChange (workspaceId, profileId, topic, channel, status, source, at) VALUES (?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [workspace, profileId, choice.topic, choice.channel, choice.status.rawValue, source, ms])
        let change = db.lastInsertedRowID
        guard let store else { return }
        let outbox = SegmentOutbox(db: db, store: store)
        // Most workspaces send nothing to Segment: find that out before reading the profile.
        guard try outbox.destination(workspace: workspace) != nil else { return }
        let userId = try String.fetchOne(
            db.cachedStatement(sql: "SELECT userId FROM profile WHERE workspaceId = ? AND profileId = ?"), arguments: [workspace, profileId]) ?? profileId
        let event: SegmentSourceEvent = choice.status == .optIn ? .userSubscribed : .userUnsubscribed
        var properties = JSONObject()
        properties["topic"] = .string(choice.topic)
        properties["channel"] = .string(choice.channel)
        properties["source"] = .string(source)
        var fields = JSONObject()
        fields["userId"] = .string(userId)
        fields["event"] = .string(event.rawValue)
        fields["properties"] = .object(properties)
        try outbox.enqueue(workspace: workspace, key: "preference:\(change)", type: "track", fields: fields, at: ms)
    }

    /// The key that signs the workspace's preference links, made on first use.
    func signingKey() throws -> [UInt8] {
        if let key = try Data.fetchOne(db.cachedStatement(sql: "SELECT key FROM preferenceKey WHERE workspaceId = ?"), arguments: [workspace]) {
            return Array(key)
        }
        let key = PreferenceToken.newKey()
        try db.execute(
            sql: "INSERT INTO preferenceKey (workspaceId, key, createdAt) VALUES (?, ?, ?)",
            arguments: [workspace, Data(key), Int64(Date().timeIntervalSince1970 * 1000)])
        return key
    }
}

extension HeraldStore {
    /// The current choices of `profileId` in `workspace`.
    public func preferences(workspace: String, profileId: String) async throws -> [PreferenceRecord] {
        try await writer.read { db in try PreferenceRecords(db: db, workspace: workspace).choices(of: profileId) }
    }

    /// The latest `limit` changes of `profileId`'s preferences, newest first.
    public func preferenceChanges(workspace: String, profileId: String, limit: Int = 50) async throws -> [PreferenceChangeRecord] {
        try await writer.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM preferenceChange WHERE workspaceId = ? AND profileId = ? ORDER BY id DESC LIMIT ?",
                arguments: [workspace, profileId, limit]
            ).map { row in
                PreferenceChangeRecord(
                    choice: PreferenceChoice(topic: row["topic"], channel: row["channel"], status: PreferenceStatus(rawValue: row["status"]) ?? .optOut),
                    source: row["source"], at: Timestamp(millisecondsSince1970: row["at"]))
            }
        }
    }

    /// Records `choices` for `profileId` from `source` at `time`; returns the changes made
    /// (a choice already in force is not recorded again).
    @discardableResult
    public func setPreferences(
        workspace: String, profileId: String, _ choices: [PreferenceChoice], source: PreferenceSource, at time: Timestamp
    ) async throws -> [PreferenceChangeRecord] {
        try await writer.write { db in
            try PreferenceRecords(db: db, workspace: workspace, store: self).apply(choices, profileId: profileId, source: source.rawValue, at: time.millisecondsSince1970)
        }
    }

    /// The key that signs `workspace`'s preference links, if one was ever made (a link of a
    /// workspace without one is forged).
    public func existingPreferenceSigningKey(workspace: String) async throws -> [UInt8]? {
        try await writer.read { db in
            try Data.fetchOne(db, sql: "SELECT key FROM preferenceKey WHERE workspaceId = ?", arguments: [workspace]).map(Array.init)
        }
    }

    /// The key that signs `workspace`'s preference links (made on first use).
    public func preferenceSigningKey(workspace: String) async throws -> [UInt8] {
        if let key = try await writer.read({ db in
            try Data.fetchOne(db, sql: "SELECT key FROM preferenceKey WHERE workspaceId = ?", arguments: [workspace])
        }) {
            return Array(key)
        }
        return try await writer.write { db in try PreferenceRecords(db: db, workspace: workspace).signingKey() }
    }
}
