import SegmentSpec

/// Profiles, aliases and groups of one workspace inside the engine's transaction.
protocol ProfileTransaction {
    /// The profile id `id` is known as (following aliases), or `id` itself.
    func resolve(_ id: String) throws -> String
    /// A profile's traits, if it exists.
    func traits(of profileId: String) throws -> JSONObject?
    /// A group's traits, if it exists.
    func groupTraits(of groupId: String) throws -> JSONObject?
    /// The recipient's profile id as ``apply(_:trace:)`` would return it, changing nothing.
    func recipient(of event: SegmentEvent) throws -> String?
    /// Applies an identify, alias or group call (traits merged, profiles merged on alias or
    /// an anonymous id becoming known, memberships); returns the recipient's profile id.
    func apply(_ event: SegmentEvent, trace: inout EventTrace) throws -> String?
}
