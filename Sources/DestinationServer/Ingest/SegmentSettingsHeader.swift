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
        return (SegmentSettings.redactingCredentials(json).encodedString(), nil)
    }
}
