extension JSONObject {
    /// The first key that occurs twice in this object (not in nested ones), in the order the
    /// repetitions appear; nil when every key is unique.
    public var firstRepeatedKey: String? {
        let count = members.count
        guard count > 1 else { return nil }
        // Segment objects are small: comparing pairs beats hashing every key, and comparing a
        // fingerprint of each key (its length and first byte) first leaves string comparisons
        // to the rare pairs that may be equal. This runs on the ingest path (see BENCHMARKS.md).
        guard count <= 32 else {
            var seen = Set<String>(minimumCapacity: count)
            for member in members where !seen.insert(member.key).inserted { return member.key }
            return nil
        }
        return withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { prints in
            var index = 0
            for member in members {
                let utf8 = member.key.utf8
                prints[index] = utf8.count << 8 | Int(utf8.first ?? 0)
                index += 1
            }
            for later in 1..<count {
                let print = prints[later]
                for earlier in 0..<later where prints[earlier] == print && members[earlier].key == members[later].key {
                    return members[later].key
                }
            }
            return nil
        }
    }

    /// Whether a key occurs twice in this object or in any object inside it.
    public var hasRepeatedKeyAtAnyDepth: Bool {
        if firstRepeatedKey != nil { return true }
        for member in members where Self.hasRepeatedKey(in: member.value) { return true }
        return false
    }

    private static func hasRepeatedKey(in value: JSONValue) -> Bool {
        switch value {
        case .object(let object): return object.hasRepeatedKeyAtAnyDepth
        case .array(let items): return items.contains(where: hasRepeatedKey(in:))
        default: return false
        }
    }

    /// The first key repeated in this object or any object inside it (depth first, in order),
    /// with where it is: e.g. `("email", "traits")`, `("sku", "properties.products[1]")`,
    /// `("userId", "")` for this object itself.
    public func firstRepeatedKeyAtAnyDepth() -> (key: String, path: String)? {
        // The common case, no repetition, without building paths.
        guard hasRepeatedKeyAtAnyDepth else { return nil }
        return firstRepeatedKeyWithPath()
    }

    private func firstRepeatedKeyWithPath() -> (key: String, path: String)? {
        if let key = firstRepeatedKey { return (key, "") }
        for member in members {
            if let found = Self.firstRepeatedKey(in: member.value) {
                return (found.key, Self.join(Self.pathComponent(member.key), found.path))
            }
        }
        return nil
    }

    private static func firstRepeatedKey(in value: JSONValue) -> (key: String, path: String)? {
        switch value {
        case .object(let object):
            return object.firstRepeatedKeyWithPath()
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstRepeatedKey(in: item) { return (found.key, join("[\(index)]", found.path)) }
            }
            return nil
        default:
            return nil
        }
    }

    /// A member's name in a path: as is when it is a plain name, else quoted.
    private static func pathComponent(_ key: String) -> String {
        let plain = !key.isEmpty && key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == "_" || $0 == "$" }
        return plain ? key.excerpt : "[\"\(key.excerpt)\"]"
    }

    private static func join(_ head: String, _ tail: String) -> String {
        guard !tail.isEmpty else { return head }
        return tail.hasPrefix("[") ? head + tail : head + "." + tail
    }
}
