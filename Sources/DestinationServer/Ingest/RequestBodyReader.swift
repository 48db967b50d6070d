import Foundation
import Hummingbird
import NIOCore
import SegmentSpec

/// Reads a request body within the request limit, inflating gzip/deflate bodies to the same
/// limit (see ``BodyInflater``).
struct RequestBodyReader: Sendable {
    let limit: Int
    /// Longest a body may take to arrive. The server's idle timeout closes a connection that
    /// sends nothing for 30 s, but a client trickling a byte every 29 s would hold it for ever.
    var deadline: Duration = .seconds(60)

    /// A limit in words: "500 KB", "24 MB".
    static func describe(bytes: Int) -> String {
        bytes % 1_048_576 == 0 ? "\(bytes / 1_048_576) MB" : "\(bytes / 1024) KB"
    }

    func read(_ request: Request) async throws(HeraldHTTPError) -> [UInt8] {
        let limitText = Self.describe(bytes: limit)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .badRequest("request body is \(length) bytes; the limit is \(limitText)")
        }
        var collected = ByteBuffer()
        let clock = ContinuousClock()
        let giveUp = clock.now + deadline
        do {
            for try await chunk in request.body {
                guard collected.readableBytes + chunk.readableBytes <= limit else {
                    throw HeraldHTTPError.badRequest("request body is larger than the limit of \(limitText)")
                }
                guard clock.now < giveUp else {
                    throw HeraldHTTPError.badRequest("request body took longer than \(deadline) to arrive")
                }
                var chunk = chunk
                collected.writeBuffer(&chunk)
            }
        } catch let error as HeraldHTTPError {
            throw error
        } catch {
            throw .badRequest("request body could not be read to its end: \(error)")
        }
        guard let encoding = request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces),
            encoding != "identity", !encoding.isEmpty
        else {
            return Array(buffer: collected)
        }
        let format: BodyInflater.Format
        switch encoding {
        case "gzip", "x-gzip": format = .gzip
        case "deflate": format = .zlib
        default: throw .badRequest("Content-Encoding \(encoding) is not supported; send gzip or an uncompressed body")
        }
        do {
            return try BodyInflater(format: format, limit: limit).inflate(Array(buffer: collected))
        } catch {
            switch error {
            case .outOfMemory: throw .unavailable("the server is out of memory for inflating this body; retry later", retryAfter: 5)
            case .tooLarge: throw .badRequest("\(encoding) body inflates past the limit of \(limitText)")
            case .truncated: throw .badRequest("\(encoding) body is truncated: its compressed stream does not end")
            case .trailingData(let bytes): throw .badRequest("\(encoding) body has \(bytes) bytes after the end of its compressed stream")
            case .corrupt(let reason): throw .badRequest("\(encoding) body is corrupt: \(reason)")
            }
        }
    }
}
