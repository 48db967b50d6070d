/// What an identify call changes in a user's profile.
///
/// Reserved traits arrive in camelCase or snake_case; the patch holds them in
/// camelCase (`first_name` becomes `firstName`, `address.postal_code` becomes
/// `address.postalCode`) so templates and conditions can name one form. Other traits
/// keep their keys. `name` is derived from first and last name when absent, and the
/// Event Tester's top-level `email` is used when traits have none.
public struct ProfilePatch: Sendable, Hashable {
    /// The signed-in user's id, when known.
    public let userId: String?
    /// The device's anonymous id, when sent.
    public let anonymousId: String?
    /// Normalised traits to deep-merge into the profile.
    public let traits: JSONObject

    /// The patch an identify event makes.
    public init(identify event: SegmentEvent) {
        self.userId = event.userId
        self.anonymousId = event.anonymousId
        self.traits = ProfilePatch.normalize(traits: event.traits.json, topLevelEmail: event.topLevelEmail)
    }

    /// Renames reserved snake_case traits to camelCase, derives `name`, fills `email`.
    public static func normalize(traits: JSONObject, topLevelEmail: String? = nil) -> JSONObject {
        var result = renameReserved(traits, names: reservedTraitNames)
        if case .object(let address)? = result["address"] {
            result["address"] = .object(renameReserved(address, names: ["postal_code": "postalCode"]))
        }
        if case .object(let company)? = result["company"] {
            result["company"] = .object(renameReserved(company, names: ["employee_count": "employeeCount"]))
        }
        let view = Traits(result)
        if result["name"] == nil || result["name"]?.isNull == true, let name = view.name {
            result["name"] = .string(name)
        }
        if view.email == nil, let topLevelEmail {
            result["email"] = .string(topLevelEmail)
        }
        return result
    }

    /// Reserved traits Segment documents with a snake_case spelling in the wild.
    static let reservedTraitNames: [String: String] = [
        "first_name": "firstName",
        "last_name": "lastName",
        "created_at": "createdAt",
    ]

    private static func renameReserved(_ object: JSONObject, names: [String: String]) -> JSONObject {
        var members: [JSONObject.Member] = []
        members.reserveCapacity(object.count)
        for member in object.members {
            if let camel = names[member.key] {
                // The camelCase spelling wins when both are sent.
                if object.contains(camel) { continue }
                members.append(JSONObject.Member(key: camel, value: member.value))
            } else {
                members.append(member)
            }
        }
        return JSONObject(members: members)
    }
}
