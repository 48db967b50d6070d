import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// Reads the query parameters of management requests, answering 400 with the parameter's
/// name when one is malformed.
struct QueryParameters {
    private let parameters: Parameters

    init(_ request: Request) {
        parameters = request.uri.queryParameters
    }

    /// A text parameter; nil when absent or empty.
    func text(_ name: String) -> String? {
        guard let value = parameters.get(name), !value.isEmpty else { return nil }
        return String(value)
    }

    /// Default of `limit` on every list of the management API.
    static let defaultLimit = 50
    /// Most items one page may hold: what one request can make the server build.
    static let maximumLimit = 1000

    /// `limit`: 1 to 1000, default 50.
    func limit(default value: Int = Self.defaultLimit) throws -> Int {
        guard let text = text("limit") else { return value }
        guard let limit = Int(text), (1...Self.maximumLimit).contains(limit) else {
            throw HeraldHTTPError.badRequest("`limit` must be a whole number from 1 to \(Self.maximumLimit), not \"\(text)\"")
        }
        return limit
    }

    /// A cursor into the list of event names (the `nextCursor` of a previous page).
    func eventNamePosition(_ name: String) throws -> EventNamePosition? {
        guard let text = text(name) else { return nil }
        guard let position = EventNamePosition(cursor: text) else {
            throw HeraldHTTPError.badRequest("`\(name)` must be the `nextCursor` of a previous page, not \"\(text)\"")
        }
        return position
    }

    /// A whole-number parameter such as a cursor.
    func integer(_ name: String) throws -> Int64? {
        guard let text = text(name) else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw HeraldHTTPError.badRequest("`\(name)` must be a whole number (the `nextCursor` of a previous page), not \"\(text)\"")
        }
        return value
    }

    /// An ISO-8601 time parameter.
    func time(_ name: String) throws -> Timestamp? {
        guard let text = text(name) else { return nil }
        guard let time = Timestamp(iso8601: text) else {
            throw HeraldHTTPError.badRequest("`\(name)` must be an ISO-8601 time such as 2026-11-23T08:00:00Z, not \"\(text)\"")
        }
        return time
    }

    /// A parameter limited to a set of values.
    func oneOf(_ name: String, _ allowed: [String]) throws -> String? {
        guard let text = text(name) else { return nil }
        guard allowed.contains(text) else {
            throw HeraldHTTPError.badRequest("`\(name)` must be one of \(allowed.joined(separator: ", ")), not \"\(text)\"")
        }
        return text
    }
}

extension Parameters {
    /// A path parameter the route guarantees, percent-decoded (user ids may hold `@` or spaces).
    func path(_ name: String) -> String {
        let raw = self.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }
}
