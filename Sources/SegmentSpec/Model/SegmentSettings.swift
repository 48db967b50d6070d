/// The destination settings Segment sends with each request (`X-Segment-Settings`).
public enum SegmentSettings {
    /// The settings with the values of credential-like keys (`apiKey`, `secret`, `token`,
    /// `password`, `auth`...) replaced by `"[redacted]"`, at any depth: Segment puts the
    /// destination's credentials there, and Herald stores and shows the settings.
    public static func redactingCredentials(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            return .object(JSONObject(members: object.members.map { member in
                isCredential(member.key) && member.value != .null
                    ? JSONObject.Member(key: member.key, value: "[redacted]")
                    : JSONObject.Member(key: member.key, value: redactingCredentials(member.value))
            }))
        case .array(let items):
            return .array(items.map(redactingCredentials))
        default:
            return value
        }
    }

    private static func isCredential(_ key: String) -> Bool {
        let name = key.lowercased()
        return ["key", "secret", "token", "password", "credential", "auth"].contains { name.contains($0) }
    }
}
