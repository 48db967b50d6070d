/// Durations as written in a configuration: `90s`, `10m`, `2h`, `2d`, `1w` (and `500ms`).
public enum DurationText {
    /// The duration, or nil when the text is not `<whole number><unit>` or is longer than
    /// ``Swift/Duration/longestSupported`` (100 years).
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: " ")
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let amount = Int64(digits) else { return nil }
        let unitSeconds: Int64
        switch trimmed.dropFirst(digits.count) {
        case "ms": return amount / 1000 <= Duration.longestSupported.components.seconds ? .milliseconds(amount) : nil
        case "s": unitSeconds = 1
        case "m": unitSeconds = 60
        case "h": unitSeconds = 3600
        case "d": unitSeconds = 86_400
        case "w": unitSeconds = 604_800
        default: return nil
        }
        let (seconds, overflow) = amount.multipliedReportingOverflow(by: unitSeconds)
        guard !overflow, seconds <= Duration.longestSupported.components.seconds else { return nil }
        return .seconds(seconds)
    }
}

extension DurationText {
    /// A length of time in the largest whole units that fit, for people: "9d 2h", "45m", "3s".
    public static func describe(milliseconds: Int64) -> String {
        var seconds = max(0, milliseconds / 1000)
        var parts: [String] = []
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60), ("s", 1)] where seconds >= size && parts.count < 2 {
            parts.append("\(seconds / size)\(unit)")
            seconds %= size
        }
        return parts.isEmpty ? "\(milliseconds)ms" : parts.joined(separator: " ")
    }
}

extension String {
    func trimmingCharacters(in character: Character) -> String {
        String(drop { $0 == character }.reversed().drop { $0 == character }.reversed())
    }
}
