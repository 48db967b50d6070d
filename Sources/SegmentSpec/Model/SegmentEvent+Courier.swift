extension SegmentEvent {
    /// The Courier-style event name automations are mapped to:
    /// `track/<event>`, `page/<name>` (`page` when unnamed), `screen/<name>`,
    /// `identify`, `group`, `alias`, `delete`.
    public var courierName: String {
        switch type {
        case .track: return "track/\(event ?? "")"
        case .page: return name.map { "page/\($0)" } ?? "page"
        case .screen: return name.map { "screen/\($0)" } ?? "screen"
        case .identify, .group, .alias, .delete: return type.rawValue
        }
    }

    /// The `data` object automations and templates see: a track, page or screen call's
    /// `properties` with keys unchanged; identify and group `traits`; empty otherwise.
    public var courierData: JSONObject {
        switch type {
        case .track, .page, .screen: return properties
        case .identify, .group: return traits.json
        case .alias, .delete: return JSONObject()
        }
    }
}
