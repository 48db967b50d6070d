import Hummingbird
import SegmentSpec

/// Reads a management request's JSON object body, answering 400 with where it is malformed.
enum RequestJSON {
    /// - Parameter emptyIsObject: an empty body reads as `{}` (every field optional).
    static func object(from request: Request, reader: RequestBodyReader, emptyIsObject: Bool = false) async throws -> JSONObject {
        let bytes = try await reader.read(request)
        guard !bytes.isEmpty else {
            if emptyIsObject { return JSONObject() }
            throw HeraldHTTPError.badRequest("the request body is empty; send a JSON object")
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw HeraldHTTPError.badRequest("the request body is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else { throw HeraldHTTPError.badRequest("the request body must be a JSON object") }
        return object
    }
}
