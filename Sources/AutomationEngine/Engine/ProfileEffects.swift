import SegmentSpec

/// What identify, alias and group calls do to profiles and groups, over any store's
/// ``ProfileTransaction``: traits merged into the profile (an identify's patch wins), an
/// anonymous profile folded into the user's when an identify names both ids or an alias
/// links them, groups updated and joined.
struct ProfileEffects {
    let profiles: any ProfileTransaction

    /// The recipient's profile id as ``apply(_:trace:)`` would return it, changing nothing
    /// (replaying a stored event).
    func recipient(of event: SegmentEvent) throws -> String? {
        switch event.type {
        case .identify: return try (event.userId ?? event.anonymousId).map(profiles.resolve)
        case .alias: return try event.userId.map(profiles.resolve)
        case .group, .track, .page, .screen: return try event.profileId.map(profiles.resolve)
        case .delete: return nil
        }
    }

    /// Applies the event's effect on profiles and groups; returns the recipient's profile id.
    func apply(_ event: SegmentEvent, trace: inout EventTrace) throws -> String? {
        switch event.type {
        case .identify:
            let patch = ProfilePatch(identify: event)
            guard let id = event.userId ?? event.anonymousId else { return nil }
            let profileId = try profiles.resolve(id)
            if let userId = event.userId, let anonymousId = event.anonymousId {
                try merge(from: try profiles.resolve(anonymousId), into: profileId, userId: userId, trace: &trace)
            }
            let previous = try profiles.traits(of: profileId) ?? JSONObject()
            let merged = previous.deepMerging(patch.traits)
            try profiles.saveProfile(profileId, userId: event.userId, traits: merged)
            // Named, not counted: the patch holds derived traits too (`name` from first and last
            // name, a top-level `email`), so a count did not match the traits the event shows.
            let names = patch.traits.members.map { "`\($0.key)`" }
            let shown = names.count > 10 ? names.prefix(10).joined(separator: ", ") + " and \(names.count - 10) more" : names.joined(separator: ", ")
            trace.effect(names.isEmpty ? "profile \(profileId) seen (no traits)" : "profile \(profileId) updated: \(shown)")
            try recordUnsubscribedTrait(of: profileId, before: previous, after: merged, trace: &trace)
            return profileId
        case .alias:
            guard let userId = event.userId, let previousId = event.previousId else { return nil }
            let profileId = try profiles.resolve(userId)
            try merge(from: try profiles.resolve(previousId), into: profileId, userId: userId, trace: &trace)
            return profileId
        case .group:
            guard let groupId = event.groupId else { return nil }
            let merged = (try profiles.groupTraits(of: groupId) ?? JSONObject()).deepMerging(event.traits.json)
            try profiles.saveGroup(groupId, traits: merged)
            trace.effect("group \(groupId) updated")
            guard let member = event.profileId else { return nil }
            let profileId = try profiles.resolve(member)
            try profiles.addMember(profileId, toGroup: groupId)
            return profileId
        case .track, .page, .screen:
            return try event.profileId.map(profiles.resolve)
        case .delete:
            return nil
        }
    }

    /// Folds profile `from` into profile `into`: traits (the surviving profile's win),
    /// memberships and aliases; `from` becomes an alias of `into`.
    private func merge(from: String, into: String, userId: String?, trace: inout EventTrace) throws {
        guard from != into else { return }
        if let source = try profiles.traits(of: from) {
            let target = try profiles.traits(of: into) ?? JSONObject()
            try profiles.saveProfile(into, userId: userId, traits: source.deepMerging(target))
            try profiles.removeProfile(from, movingMembershipsTo: into)
            trace.effect("profile \(from) merged into \(into)")
        }
        try profiles.makeAlias(from, of: into)
    }

    /// A change of the `unsubscribed` trait (all email) is a preference change: recorded in
    /// the recipient's preference history with source `identify`, as channel `type:smtp`.
    private func recordUnsubscribedTrait(of profileId: String, before: JSONObject, after: JSONObject, trace: inout EventTrace) throws {
        let trait = PreferenceCheck.unsubscribedTrait
        let was = before[trait] == .bool(true)
        let now = after[trait] == .bool(true)
        guard was != now else { return }
        let choice = PreferenceChoice(topic: PreferenceChoice.all, channel: PreferenceCheck.allEmailChannels, status: now ? .optOut : .optIn)
        try profiles.logPreference(choice, profileId: profileId, source: .identify)
        trace.effect(now ? "profile \(profileId) unsubscribed from all email (trait `unsubscribed`)" : "profile \(profileId) no longer unsubscribed from email")
    }
}
