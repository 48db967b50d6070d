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
    /// Other ids this profile is known by (anonymous ids, previous ids): the first
    /// ``HeraldStore/embeddedListLimit`` in order (``aliasCount`` says how many there are).
    public let aliases: [String]
    /// How many other ids the profile is known by.
    public let aliasCount: Int
    /// Groups the profile is a member of: the first ``HeraldStore/embeddedListLimit`` in order
    /// (``groupCount`` says how many there are).
    public let groups: [String]
    /// How many groups the profile is a member of.
    public let groupCount: Int
    /// When it was created and last changed.
    public let createdAt, updatedAt: Timestamp
}

/// A group (account) as the engine keeps it.
public struct GroupRecord: Sendable, Hashable {
    /// The groupId.
    public let id: String
    /// Merged traits.
    public let traits: JSONObject
    /// Profile ids of the members: the first ``HeraldStore/embeddedListLimit`` in order
    /// (``memberCount`` says how many there are; ``HeraldStore/groupMembers(workspace:groupId:after:limit:)`` pages them).
    public let members: [String]
    /// How many members the group has.
    public let memberCount: Int
    /// When it last changed.
    public let updatedAt: Timestamp
}

extension HeraldStore {
    /// Most ids of one list a profile or group record carries (aliases, groups, members):
    /// ingest keys can make these lists as long as they like, and a record must stay small.
    public static let embeddedListLimit = 100

    /// The profile known by `id` (its own id or any alias), or nil.
    public func profile(workspace: String, id: String) async throws -> ProfileRecord? {
        try await writer.read { db in try Self.profile(workspace: workspace, id: id, db) }
    }

    private static func profile(workspace: String, id: String, _ db: Database) throws -> ProfileRecord? {
        let profileId = try resolveProfile(workspace: workspace, id: id, db)
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM profile WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId])
        else { return nil }
        let limit = embeddedListLimit
        return ProfileRecord(
            id: profileId, userId: row["userId"],
            traits: (try? JSONParser.parse(row["traits"] as String).objectValue) ?? JSONObject(),
            aliases: try String.fetchAll(
                db, sql: "SELECT alias FROM profileAlias WHERE workspaceId = ? AND profileId = ? ORDER BY alias LIMIT ?", arguments: [workspace, profileId, limit]),
            aliasCount: try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM profileAlias WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId]) ?? 0,
            groups: try String.fetchAll(
                db, sql: "SELECT groupId FROM membership WHERE workspaceId = ? AND profileId = ? ORDER BY groupId LIMIT ?", arguments: [workspace, profileId, limit]),
            groupCount: try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM membership WHERE workspaceId = ? AND profileId = ?", arguments: [workspace, profileId]) ?? 0,
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
            let members = try Self.groupMembers(workspace: workspace, groupId: id, after: nil, limit: Self.embeddedListLimit, db)
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM membership WHERE workspaceId = ? AND groupId = ?", arguments: [workspace, id]) ?? 0
            return GroupRecord(
                id: id, traits: (try? JSONParser.parse(row["traits"] as String).objectValue) ?? JSONObject(), members: members,
                memberCount: count, updatedAt: Timestamp(millisecondsSince1970: row["updatedAt"]))
        }
    }

    /// A page of a group's member profile ids in order: `limit` of them after `after`.
    public func groupMembers(workspace: String, groupId: String, after: String?, limit: Int) async throws -> [String] {
        try await writer.read { db in try Self.groupMembers(workspace: workspace, groupId: groupId, after: after, limit: limit, db) }
    }

    private static func groupMembers(workspace: String, groupId: String, after: String?, limit: Int, _ db: Database) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT profileId FROM membership WHERE workspaceId = ? AND groupId = ? AND profileId > ? ORDER BY profileId LIMIT ?",
            arguments: [workspace, groupId, after ?? "", limit])
    }

    /// The profiles of these ids that exist, in the order given.
    public func profiles(workspace: String, ids: [String]) async throws -> [ProfileRecord] {
        try await writer.read { db in try ids.compactMap { try Self.profile(workspace: workspace, id: $0, db) } }
    }

    static func resolveProfile(workspace: String, id: String, _ db: Database) throws -> String {
        try String.fetchOne(db.cachedStatement(sql: "SELECT profileId FROM profileAlias WHERE workspaceId = ? AND alias = ?"), arguments: [workspace, id]) ?? id
    }
}
