import GRDB
import SegmentSpec

/// Profile and group bookkeeping inside the engine's transaction.
struct ProfileStore: ProfileTransaction {
    let db: Database
    let workspace: String
    let time: Timestamp

    /// The profile id an id is known as (following aliases), or the id itself.
    func resolve(_ id: String) throws -> String {
        try HeraldStore.resolveProfile(workspace: workspace, id: id, db)
    }

    func traits(of profileId: String) throws -> JSONObject? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT traits FROM profile WHERE workspaceId = ? AND profileId = ?"), arguments: [workspace, profileId])
            .flatMap { try? JSONParser.parse($0).objectValue }
    }

    func groupTraits(of groupId: String) throws -> JSONObject? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT traits FROM groupRecord WHERE workspaceId = ? AND groupId = ?"), arguments: [workspace, groupId])
            .flatMap { try? JSONParser.parse($0).objectValue }
    }

    private func save(_ profileId: String, userId: String?, traits: JSONObject) throws {
        try db.cachedStatement(sql: """
            INSERT INTO profile (workspaceId, profileId, userId, traits, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (workspaceId, profileId) DO UPDATE SET traits = excluded.traits, updatedAt = excluded.updatedAt,
                userId = COALESCE(excluded.userId, profile.userId)
            """).execute(
            arguments: [workspace, profileId, userId, JSONValue.object(traits).encodedString(), time.millisecondsSince1970, time.millisecondsSince1970])
    }

    /// Folds profile `from` into profile `into`: traits (the surviving profile's win),
    /// memberships and aliases; `from` becomes an alias of `into`.
    private func merge(from: String, into: String, userId: String?, trace: inout EventTrace) throws {
        guard from != into else { return }
        let source = try traits(of: from)
        if let source {
            let target = try traits(of: into) ?? JSONObject()
            try save(into, userId: userId, traits: source.deepMerging(target))
            try db.execute(sql: "DELETE FROM profile WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, from])
            try db.execute(
                sql: "UPDATE OR IGNORE membership SET profileId = ? WHERE workspaceId = ? AND profileId = ?", arguments: [into, workspace, from])
            try db.execute(sql: "DELETE FROM membership WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, from])
            trace.effect("profile \(from) merged into \(into)")
        }
        try db.execute(sql: "UPDATE profileAlias SET profileId = ? WHERE workspaceId = ? AND profileId = ?", arguments: [into, workspace, from])
        try db.execute(
            sql: "INSERT INTO profileAlias (workspaceId, alias, profileId) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET profileId = excluded.profileId",
            arguments: [workspace, from, into])
    }

    /// A change of the `unsubscribed` trait (all email) is a preference change: recorded in
    /// the recipient's preference history with source `identify`, as channel `type:smtp`.
    private func recordUnsubscribedTrait(of profileId: String, before: JSONObject, after: JSONObject, trace: inout EventTrace) throws {
        let trait = PreferenceCheck.unsubscribedTrait
        let was = before[trait] == .bool(true)
        let now = after[trait] == .bool(true)
        guard was != now else { return }
        let choice = PreferenceChoice(topic: PreferenceChoice.all, channel: PreferenceCheck.allEmailChannels, status: now ? .optOut : .optIn)
        try PreferenceRecords(db: db, workspace: workspace).log(choice, profileId: profileId, source: PreferenceSource.identify.rawValue, at: time.millisecondsSince1970)
        trace.effect(now ? "profile \(profileId) unsubscribed from all email (trait `unsubscribed`)" : "profile \(profileId) no longer unsubscribed from email")
    }

    /// The recipient's profile id as ``apply(_:trace:)`` would return it, without changing
    /// anything (replaying a stored event).
    func recipient(of event: SegmentEvent) throws -> String? {
        switch event.type {
        case .identify: return try (event.userId ?? event.anonymousId).map(resolve)
        case .alias: return try event.userId.map(resolve)
        case .group, .track, .page, .screen: return try event.profileId.map(resolve)
        case .delete: return nil
        }
    }

    /// Applies the event's effect on profiles and groups; returns the recipient's profile id.
    func apply(_ event: SegmentEvent, trace: inout EventTrace) throws -> String? {
        switch event.type {
        case .identify:
            let patch = ProfilePatch(identify: event)
            guard let id = event.userId ?? event.anonymousId else { return nil }
            let profileId = try resolve(id)
            if let userId = event.userId, let anonymousId = event.anonymousId {
                try merge(from: try resolve(anonymousId), into: profileId, userId: userId, trace: &trace)
            }
            let previous = try traits(of: profileId) ?? JSONObject()
            let merged = previous.deepMerging(patch.traits)
            try save(profileId, userId: event.userId, traits: merged)
            trace.effect("profile \(profileId) updated with \(patch.traits.count) trait(s)")
            try recordUnsubscribedTrait(of: profileId, before: previous, after: merged, trace: &trace)
            return profileId
        case .alias:
            guard let userId = event.userId, let previousId = event.previousId else { return nil }
            let profileId = try resolve(userId)
            try merge(from: try resolve(previousId), into: profileId, userId: userId, trace: &trace)
            return profileId
        case .group:
            guard let groupId = event.groupId else { return nil }
            let merged = (try groupTraits(of: groupId) ?? JSONObject()).deepMerging(event.traits.json)
            try db.execute(
                sql: """
                    INSERT INTO groupRecord (workspaceId, groupId, traits, updatedAt) VALUES (?, ?, ?, ?)
                    ON CONFLICT DO UPDATE SET traits = excluded.traits, updatedAt = excluded.updatedAt
                    """,
                arguments: [workspace, groupId, JSONValue.object(merged).encodedString(), time.millisecondsSince1970])
            trace.effect("group \(groupId) updated")
            guard let member = event.profileId else { return nil }
            let profileId = try resolve(member)
            try db.execute(
                sql: "INSERT OR IGNORE INTO membership (workspaceId, groupId, profileId) VALUES (?, ?, ?)",
                arguments: [workspace, groupId, profileId])
            return profileId
        case .track, .page, .screen:
            return try event.profileId.map(resolve)
        case .delete:
            return nil
        }
    }
}
