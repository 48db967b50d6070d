public import Hummingbird
import SegmentSpec

/// An error answered as `{"message": ...}` with its status and headers.
///
/// Every failure a client can cause goes through this type, so none reaches Hummingbird's
/// empty 500.
public struct HeraldHTTPError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// What went wrong, in words the client's developer can act on.
    public let message: String
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    public let headers: HTTPFields

    /// An error with this status and message.
    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String { "\(status.code) \(message)" }

    /// Renders `{"message": ...}`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(status: status, body: .object(JSONObject([(key: "message", value: .string(message))])))
        for field in headers { response.headers.append(field) }
        return response
    }

    /// 400 with a message.
    public static func badRequest(_ message: String) -> HeraldHTTPError { HeraldHTTPError(.badRequest, message) }

    /// 401 with Segment's expected challenge.
    public static func unauthorized(_ message: String) -> HeraldHTTPError {
        HeraldHTTPError(.unauthorized, message, headers: [.wwwAuthenticate: #"Basic realm="herald""#])
    }

    /// 503 asking the client to retry after `seconds`.
    public static func unavailable(_ message: String, retryAfter seconds: Int = 1) -> HeraldHTTPError {
        HeraldHTTPError(.serviceUnavailable, message, headers: [.retryAfter: String(seconds)])
    }
}
