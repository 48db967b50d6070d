/// Typed read access to an event's `context` object (Segment's "Common Fields").
///
/// A view over the original JSON: every field, known or not, stays in ``json``.
public struct EventContext: Sendable, Hashable {
    /// The whole `context` object as sent.
    public let json: JSONObject

    /// Wraps a `context` object.
    public init(_ json: JSONObject) {
        self.json = json
    }

    /// `context.library` (`{name, version}`), e.g. analytics-python.
    public var library: Library? { json["library"]?.objectValue.map(Library.init) }
    /// `context.ip`.
    public var ip: String? { json["ip"]?.stringValue }
    /// `context.userAgent`.
    public var userAgent: String? { json["userAgent"]?.stringValue }
    /// `context.locale`, e.g. `en-US`.
    public var locale: String? { json["locale"]?.stringValue }
    /// `context.timezone`, e.g. `Europe/Amsterdam`.
    public var timezone: String? { json["timezone"]?.stringValue }
    /// `context.groupId`: the account a call belongs to.
    public var groupId: String? { json["groupId"]?.identifierText }
    /// `context.active`.
    public var active: Bool? { json["active"]?.boolValue }
    /// `context.channel` (`server`, `browser`, `mobile`).
    public var channel: String? { json["channel"]?.stringValue }
    /// `context.page` (`path`, `referrer`, `search`, `title`, `url`).
    public var page: PageInfo? { json["page"]?.objectValue.map(PageInfo.init) }
    /// `context.traits`: traits of the user sent along with a non-identify call.
    public var traits: Traits? { json["traits"]?.objectValue.map(Traits.init) }
    /// `context.campaign` (UTM parameters) as sent.
    public var campaign: JSONObject? { json["campaign"]?.objectValue }
    /// `context.device` as sent.
    public var device: JSONObject? { json["device"]?.objectValue }
    /// `context.os` as sent.
    public var os: JSONObject? { json["os"]?.objectValue }
    /// `context.app` as sent.
    public var app: JSONObject? { json["app"]?.objectValue }

    /// `context.library`.
    public struct Library: Sendable, Hashable {
        /// The library object as sent.
        public let json: JSONObject
        init(_ json: JSONObject) { self.json = json }
        /// Library name, e.g. `analytics.js`.
        public var name: String? { json["name"]?.stringValue }
        /// Library version; some libraries send a number, so it is read as text.
        public var version: String? { json["version"]?.identifierText }
    }
}

/// Page fields, found in `context.page` and in a page call's `properties`.
public struct PageInfo: Sendable, Hashable {
    /// The object as sent.
    public let json: JSONObject
    /// Wraps a page object.
    public init(_ json: JSONObject) { self.json = json }
    /// Page name (page call properties only).
    public var name: String? { json["name"]?.stringValue }
    /// Page category.
    public var category: String? { json["category"]?.stringValue }
    /// Path portion of the URL.
    public var path: String? { json["path"]?.stringValue }
    /// Previous page's URL.
    public var referrer: String? { json["referrer"]?.stringValue }
    /// Query string of the URL.
    public var search: String? { json["search"]?.stringValue }
    /// Page title.
    public var title: String? { json["title"]?.stringValue }
    /// Full URL.
    public var url: String? { json["url"]?.stringValue }
    /// Keywords describing the page.
    public var keywords: [String]? { json["keywords"]?.arrayValue?.compactMap(\.stringValue) }
}
