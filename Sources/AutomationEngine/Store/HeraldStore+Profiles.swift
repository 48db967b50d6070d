import GRDB
public import SegmentSpec

/// A user's profile as the engine keeps it.
public struct ProfileRecord: Sendable, Hashable {
    /// The profile's id: the userId, or the anonymousId of a user not yet identified.
    public let id: String
    /// The userId, once known.
    public let userId: String?
    /// Merged traits.
    public let traits: JSONObject
    /// Other ids this profile is known by (anonymous ids, previous ids).
    public let aliases: [String]
    /// Groups the profile is a member of.
    public let groups: [String]
    /// When it was created and last changed.
    public let createdAt, updatedAt: Timestamp
}

/// A group (account) as the engine keeps it.
public struct GroupRecord: Sendable, Hashable {
    /// The groupId.
    public let id: String
    /// Merged traits.
    public let traits: JSONObject
    /// Profile ids of the members.
    public let members: [String]
    /// When it last changed.
    public let updatedAt: Timestamp
}

extension HeraldStore {
    /// The profile known by `id` (its own id or any alias), or nil.
    public func profile(workspace: String, id: String) async throws -> ProfileRecord? {
        try await writer.read { db in try Self.profile(workspace: workspace, id: id, db) }
    }

    private static func profile(workspace: String, id: String, _ db: Database) throws -> ProfileRecord? {
        let profileId = try resolveProfile(workspace: workspace, id: id, db)
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM profile WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId])
        else { return nil }
        return ProfileRecord(
            id: profileId, userId: row["userId"],
            traits: (try? JSONParser.parse(row["traits"] as String).objectValue) ?? JSONObject(),
            aliases: try String.fetchAll(db, sql: "SELECT alias FROM profileAlias WHERE workspaceId = ? AND profileId = ? ORDER BY alias", arguments: [workspace, profileId]),
            groups: try String.fetchAll(db, sql: "SELECT groupId FROM membership WHERE workspaceId = ? AND profileId = ? ORDER BY groupId", arguments: [workspace, profileId]),
            createdAt: Timestamp(millisecondsSince1970: row["createdAt"]), updatedAt: Timestamp(millisecondsSince1970: row["updatedAt"]))
    }

    /// A profile's traits (following aliases), or nil when there is no such profile.
    public func profileTraits(workspace: String, id: String) async throws -> JSONObject? {
        try await profile(workspace: workspace, id: id)?.traits
    }

    /// A group with its traits and members, or nil.
    public func group(workspace: String, id: String) async throws -> GroupRecord? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM groupRecord WHERE workspaceId = ? AND groupId = ?", arguments: [workspace, id])
            else { return nil }
            let members = try String.fetchAll(db, sql: "SELECT profileId FROM membership WHERE workspaceId = ? AND groupId = ? ORDER BY profileId", arguments: [workspace, id])
            return GroupRecord(
                id: id, traits: (try? JSONParser.parse(row["traits"] as String).objectValue) ?? JSONObject(), members: members,
                updatedAt: Timestamp(millisecondsSince1970: row["updatedAt"]))
        }
    }

    /// The profiles of these ids that exist, in the order given.
    public func profiles(workspace: String, ids: [String]) async throws -> [ProfileRecord] {
        try await writer.read { db in try ids.compactMap { try Self.profile(workspace: workspace, id: $0, db) } }
    }

    static func resolveProfile(workspace: String, id: String, _ db: Database) throws -> String {
        try String.fetchOne(db.cachedStatement(sql: "SELECT profileId FROM profileAlias WHERE workspaceId = ? AND alias = ?"), arguments: [workspace, id]) ?? id
    }
}
