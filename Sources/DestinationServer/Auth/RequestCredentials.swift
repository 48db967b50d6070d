import Foundation
import Hummingbird

/// Reads the API key from a request's `Authorization` header.
///
/// Segment sends `Basic base64(key + ":")`: the key is the username and the password is
/// empty, which hummingbird-auth's Basic parser refuses, hence this parser. `Bearer key`
/// is accepted too. Without the header, the key may come from the body's `writeKey`.
enum RequestCredentials {
    /// The key from the header, nil when there is no `Authorization` header.
    /// - Throws: 401 when the header is present but unreadable.
    static func key(from headers: HTTPFields) throws(HeraldHTTPError) -> String? {
        guard let header = headers[.authorization] else { return nil }
        let trimmed = header.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") else {
            throw .unauthorized("Authorization header must be `Basic base64(key:)` or `Bearer key`")
        }
        let scheme = trimmed[..<space].lowercased()
        let value = String(trimmed[space...].drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        switch scheme {
        case "basic":
            guard let data = Data(base64Encoded: value), let decoded = String(validating: data, as: UTF8.self) else {
                throw .unauthorized("Basic credentials are not valid base64; send base64(key + \":\")")
            }
            // username = key; the password (after the first colon) is empty or ignored.
            let key = decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !key.isEmpty else { throw .unauthorized("Basic credentials carry no API key; put the key in the username") }
            return key
        case "bearer":
            guard !value.isEmpty else { throw .unauthorized("Bearer token is empty") }
            return value
        default:
            throw .unauthorized("Authorization scheme \(scheme) is not supported; use Basic or Bearer")
        }
    }
}
