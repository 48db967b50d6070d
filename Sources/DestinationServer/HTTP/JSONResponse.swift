import Hummingbird
import NIOCore
import SegmentSpec

/// Builds JSON responses from ``JSONValue`` (compact, key order as written).
enum JSONResponse {
    static func make(status: HTTPResponse.Status = .ok, body: JSONValue) -> Response {
        let bytes = body.encodedBytes()
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer))
    }
}
