import Foundation
import SegmentSpec

/// Which time zone a recipient's send windows and scheduled digests are in.
enum RecipientTimeZone {
    /// The profile's `timezone` trait (IANA), else the event's `context.timezone` (Segment's
    /// libraries send it), else the workspace's `timezone:`, else UTC.
    static func of(_ scope: JSONObject, configuration: HeraldConfiguration?) -> TimeZone {
        let candidates = [
            scope["profile"]?.objectValue?["timezone"]?.stringValue,
            scope["event"]?.objectValue?["context"]?.objectValue?["timezone"]?.stringValue,
            configuration?.timeZone,
        ]
        for case let name? in candidates {
            if let zone = TimeZone(identifier: name) { return zone }
        }
        return TimeZone(identifier: "UTC") ?? TimeZone.current
    }
}
