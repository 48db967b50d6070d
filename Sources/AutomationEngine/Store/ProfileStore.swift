import GRDB
import SegmentSpec

/// Profiles, aliases and groups in SQLite, inside the engine's transaction (the rules that
/// use these operations are in `Engine/ProfileEffects.swift`).
struct ProfileStore: ProfileTransaction {
    let db: Database
    let workspace: String
    let time: Timestamp
    /// For the Segment outbox (preference changes are reported there).
    let store: HeraldStore

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

    func saveProfile(_ profileId: String, userId: String?, traits: JSONObject) throws {
        try db.cachedStatement(sql: """
            INSERT INTO profile (workspaceId, profileId, userId, traits, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (workspaceId, profileId) DO UPDATE SET traits = excluded.traits, updatedAt = excluded.updatedAt,
                userId = COALESCE(excluded.userId, profile.userId)
            """).execute(
            arguments: [workspace, profileId, userId, JSONValue.object(traits).encodedString(), time.millisecondsSince1970, time.millisecondsSince1970])
    }

    func removeProfile(_ profileId: String, movingMembershipsTo survivor: String) throws {
        try db.execute(sql: "DELETE FROM profile WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId])
        try db.execute(
            sql: "UPDATE OR IGNORE membership SET profileId = ? WHERE workspaceId = ? AND profileId = ?", arguments: [survivor, workspace, profileId])
        try db.execute(sql: "DELETE FROM membership WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId])
    }

    func makeAlias(_ alias: String, of profileId: String) throws {
        try db.execute(sql: "UPDATE profileAlias SET profileId = ? WHERE workspaceId = ? AND profileId = ?", arguments: [profileId, workspace, alias])
        try db.execute(
            sql: "INSERT INTO profileAlias (workspaceId, alias, profileId) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET profileId = excluded.profileId",
            arguments: [workspace, alias, profileId])
    }

    func saveGroup(_ groupId: String, traits: JSONObject) throws {
        try db.execute(
            sql: """
                INSERT INTO groupRecord (workspaceId, groupId, traits, updatedAt) VALUES (?, ?, ?, ?)
                ON CONFLICT DO UPDATE SET traits = excluded.traits, updatedAt = excluded.updatedAt
                """,
            arguments: [workspace, groupId, JSONValue.object(traits).encodedString(), time.millisecondsSince1970])
    }

    func addMember(_ profileId: String, toGroup groupId: String) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO membership (workspaceId, groupId, profileId) VALUES (?, ?, ?)", arguments: [workspace, groupId, profileId])
    }

    func logPreference(_ choice: PreferenceChoice, profileId: String, source: PreferenceSource) throws {
        try PreferenceRecords(db: db, workspace: workspace, store: store).log(choice, profileId: profileId, source: source.rawValue, at: time.millisecondsSince1970)
    }
}
