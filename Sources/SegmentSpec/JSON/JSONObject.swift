/// A JSON object that keeps its members in the order they were written.
///
/// Look-up is a linear scan: Segment objects are small (tens of keys), and keeping one
/// array makes parsing cheap and re-encoding exact. When a key repeats, look-up sees
/// the last occurrence, as JavaScript does; every occurrence is kept for re-encoding.
public struct JSONObject: Sendable, Hashable, Sequence {
    /// One `"key": value` pair. A struct rather than a tuple: tuple element types make the
    /// runtime look up generic metadata on every array operation, which showed in profiles.
    public struct Member: Sendable, Hashable {
        /// The member's name.
        public var key: String
        /// The member's value.
        public var value: JSONValue

        /// A member.
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The members in their original order.
    public private(set) var members: [Member]

    /// An empty object.
    public init() {
        members = []
    }

    /// An object with these members, in this order.
    public init(members: [Member]) {
        self.members = members
    }

    /// An object with these `(key, value)` pairs, in this order.
    public init(_ pairs: [(key: String, value: JSONValue)]) {
        self.members = pairs.map { Member(key: $0.key, value: $0.value) }
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
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// True when `key` is present (even with a `null` value).
    public func contains(_ key: String) -> Bool {
        members.contains { $0.key == key }
    }

    public func makeIterator() -> IndexingIterator<[Member]> {
        members.makeIterator()
    }

    /// A copy where `other`'s members are merged in recursively: nested objects merge,
    /// any other value from `other` replaces ours. Order: ours first, new keys appended.
    public func deepMerging(_ other: JSONObject) -> JSONObject {
        var result = self
        // Position of each key's last occurrence: one pass instead of a scan per merged key.
        var position: [String: Int] = [:]
        position.reserveCapacity(result.members.count)
        for (index, member) in result.members.enumerated() { position[member.key] = index }
        for member in other.members {
            if let index = position[member.key] {
                if case .object(let incoming) = member.value, case .object(let existing) = result.members[index].value {
                    result.members[index].value = .object(existing.deepMerging(incoming))
                } else {
                    result.members[index].value = member.value
                }
            } else {
                position[member.key] = result.members.count
                result.members.append(member)
            }
        }
        return result
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.members.count == rhs.members.count else { return false }
        return lhs.members == rhs.members
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members)
    }
}
