import Foundation
import Hummingbird

/// Reads the API key from a request's `Authorization` header.
///
/// Segment sends `Basic base64(key + ":")`: the key is the username and the password is
/// empty, which hummingbird-auth's Basic parser refuses, hence this parser. `Bearer key`
/// is accepted too. Without the header, the key may come from the body's `writeKey`.
///
/// It runs on every ingest request, so it works on the header's UTF-8 bytes: trimming the
/// `String` through generic collection views cost a tenth of the server's CPU under load.
enum RequestCredentials {
    /// The key from the header, nil when there is no `Authorization` header.
    /// - Throws: 401 when the header is present but unreadable.
    static func key(from headers: HTTPFields) throws(HeraldHTTPError) -> String? {
        guard let header = headers[.authorization] else { return nil }
        let bytes = Array(header.utf8)
        let space = UInt8(ascii: " ")
        var start = 0
        while start < bytes.count && bytes[start] == space { start += 1 }
        var end = bytes.count
        while end > start && bytes[end - 1] == space { end -= 1 }
        guard let gap = bytes[start..<end].firstIndex(of: space) else {
            switch String(decoding: bytes[start..<end], as: UTF8.self).lowercased() {
            case "basic": throw .unauthorized("Basic credentials carry no API key; put the key in the username")
            case "bearer": throw .unauthorized("Bearer token is empty")
            default: throw .unauthorized("Authorization header must be `Basic base64(key:)` or `Bearer key`")
            }
        }
        var valueStart = gap
        while valueStart < end && bytes[valueStart] == space { valueStart += 1 }
        let scheme = String(decoding: bytes[start..<gap], as: UTF8.self).lowercased()
        let value = bytes[valueStart..<end]
        switch scheme {
        case "basic":
            guard let data = Data(base64Encoded: Data(value)), let decoded = String(validating: data, as: UTF8.self) else {
                throw .unauthorized("Basic credentials are not valid base64; send base64(key + \":\")")
            }
            // username = key; the password (after the first colon) is empty or ignored.
            let key = decoded.utf8.firstIndex(of: UInt8(ascii: ":")).map { String(decoded[..<$0]) } ?? decoded
            guard !key.isEmpty else { throw .unauthorized("Basic credentials carry no API key; put the key in the username") }
            return key
        case "bearer":
            // Not empty: trailing spaces were trimmed, so a value follows the gap.
            return String(decoding: value, as: UTF8.self)
        default:
            throw .unauthorized("Authorization scheme \(scheme) is not supported; use Basic or Bearer")
        }
    }
}
