import SegmentSpec

/// What a digest holds and how histories and explain traces word it.
enum Digests {
    /// A digest item: the event's `data` and `event` as conditions and templates see them.
    static func item(of scope: JSONObject) -> JSONObject {
        var item = JSONObject()
        item["data"] = scope["data"] ?? .object(JSONObject())
        item["event"] = scope["event"] ?? .object(JSONObject())
        return item
    }

    /// What the following steps of the collecting run see as `digest`: `count`, `key`, `items`.
    static func scopeValue(_ digest: OwnedDigest) -> JSONValue {
        var value = JSONObject()
        value["count"] = .number(JSONNumber(digest.count))
        value["key"] = .string(digest.key)
        value["items"] = .array(digest.items.map(JSONValue.object))
        return .object(value)
    }

    /// "added to digest run 41, 3 items so far" (and when the item filled it).
    static func joinedText(_ joined: DigestJoin, maxItems: Int) -> String {
        "added to digest run \(joined.runId), \(joined.items) item\(joined.items == 1 ? "" : "s") so far"
            + (joined.filled ? "; max_items (\(maxItems)) reached: the digest goes out now" : "")
    }

    /// "; collecting a digest until …" after "started run N".
    static func openedText(key: String, closesAt: Int64) -> String {
        "; collecting a digest" + (key.isEmpty ? "" : " for key \"\(key)\"") + " until \(Timestamp(millisecondsSince1970: closesAt).iso8601)"
    }
}
