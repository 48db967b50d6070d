import SegmentSpec

/// Profiles, aliases and groups of one workspace inside the engine's transaction: the
/// storage operations only. The rules (what an identify, alias or group call does, when two
/// profiles merge) are the engine's, in `Engine/ProfileEffects.swift`.
protocol ProfileTransaction {
    /// The profile id `id` is known as (following aliases), or `id` itself.
    func resolve(_ id: String) throws -> String
    /// A profile's traits, if it exists.
    func traits(of profileId: String) throws -> JSONObject?
    /// A group's traits, if it exists.
    func groupTraits(of groupId: String) throws -> JSONObject?
    /// Creates or replaces a profile's traits; `userId`, when given, is recorded (a nil one
    /// keeps the recorded one).
    func saveProfile(_ profileId: String, userId: String?, traits: JSONObject) throws
    /// Deletes profile `profileId`, moving its group memberships to `survivor`.
    func removeProfile(_ profileId: String, movingMembershipsTo survivor: String) throws
    /// Makes `alias` (and every id that was an alias of it) an alias of `profileId`.
    func makeAlias(_ alias: String, of profileId: String) throws
    /// Creates or replaces a group's traits.
    func saveGroup(_ groupId: String, traits: JSONObject) throws
    /// Records `profileId` as a member of `groupId` (once).
    func addMember(_ profileId: String, toGroup groupId: String) throws
    /// Appends a preference change (a trait that says `unsubscribed`) to the recipient's history.
    func logPreference(_ choice: PreferenceChoice, profileId: String, source: PreferenceSource) throws
}
