import Foundation
import SegmentSpec

/// Segment sends a destination's settings as `X-Segment-Settings: base64(JSON)`.
enum SegmentSettingsHeader {
    /// The decoded JSON text, or a warning when the header is not base64 JSON.
    static func decode(_ value: String?) -> (json: String?, warning: String?) {
        guard let value, !value.isEmpty else { return (nil, nil) }
        guard let data = Data(base64Encoded: value.trimmingCharacters(in: .whitespaces)),
            let json = try? JSONParser.parse(Array(data))
        else {
            return (nil, "X-Segment-Settings is not base64-encoded JSON; it was not stored")
        }
        return (redacted(json).encodedString(), nil)
    }

    /// Segment puts the destination's credentials in its settings (`apiKey`, `secret`...):
    /// their values are replaced before anything is stored or shown.
    static func redacted(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(members: object.members.map { member in
                isSecret(member.key) && member.value != .null
                    ? JSONObject.Member(key: member.key, value: "[redacted]")
                    : JSONObject.Member(key: member.key, value: redacted(member.value))
            }))
        case .array(let items):
            return .array(items.map(redacted))
        default:
            return value
        }
    }

    private static func isSecret(_ key: String) -> Bool {
        let name = key.lowercased()
        return ["key", "secret", "token", "password", "credential", "auth"].contains { name.contains($0) }
    }
}
