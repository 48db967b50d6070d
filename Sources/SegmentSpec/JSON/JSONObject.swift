/// A JSON object that keeps its members in the order they were written.
///
/// Look-up is a linear scan: Segment objects are small (tens of keys), and keeping one
/// array makes parsing cheap and re-encoding exact. When a key repeats, look-up sees
/// the last occurrence, as JavaScript does; every occurrence is kept for re-encoding.
public struct JSONObject: Sendable, Hashable, Sequence {
    /// The members in their original order.
    public private(set) var members: [(key: String, value: JSONValue)]

    /// An empty object.
    public init() {
        members = []
    }

    /// An object with these members, in this order.
    public init(_ members: [(key: String, value: JSONValue)]) {
        self.members = members
    }

    /// Number of members.
    public var count: Int { members.count }

    /// True when the object has no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The keys in order.
    public var keys: [String] { members.map(\.key) }

    /// The value for `key` (the last one when repeated); setting replaces it in place or appends,
    /// setting nil removes every occurrence.
    public subscript(key: String) -> JSONValue? {
        get {
            var index = members.count - 1
            while index >= 0 {
                if members[index].key == key { return members[index].value }
                index -= 1
            }
            return nil
        }
        set {
            guard let newValue else {
                members.removeAll { $0.key == key }
                return
            }
            if let index = members.lastIndex(where: { $0.key == key }) {
                members[index].value = newValue
            } else {
                members.append((key: key, value: newValue))
            }
        }
    }

    /// True when `key` is present (even with a `null` value).
    public func contains(_ key: String) -> Bool {
        members.contains { $0.key == key }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> {
        members.makeIterator()
    }

    /// A copy where `other`'s members are merged in recursively: nested objects merge,
    /// any other value from `other` replaces ours. Order: ours first, new keys appended.
    public func deepMerging(_ other: JSONObject) -> JSONObject {
        var result = self
        for (key, value) in other.members {
            if case .object(let incoming) = value, case .object(let existing)? = result[key] {
                result[key] = .object(existing.deepMerging(incoming))
            } else {
                result[key] = value
            }
        }
        return result
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        for (l, r) in zip(lhs.members, rhs.members) where l.key != r.key || l.value != r.value {
            return false
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members.count)
        for member in members {
            hasher.combine(member.key)
            hasher.combine(member.value)
        }
    }
}
