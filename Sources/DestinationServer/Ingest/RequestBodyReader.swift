import CompressNIO
import Foundation
import Hummingbird
import NIOCore
import SegmentSpec

/// Reads a request body within the request limit, inflating gzip/deflate bodies with a cap
/// on the inflated size (so a gzip bomb costs at most the limit).
struct RequestBodyReader: Sendable {
    let limit: Int

    func read(_ request: Request) async throws(HeraldHTTPError) -> [UInt8] {
        let limitText = "\(limit / 1024) KB"
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw .badRequest("request body is \(length) bytes; the limit is \(limitText)")
        }
        var collected = ByteBuffer()
        do {
            for try await chunk in request.body {
                guard collected.readableBytes + chunk.readableBytes <= limit else {
                    throw HeraldHTTPError.badRequest("request body is larger than the limit of \(limitText)")
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
        let algorithm: CompressionAlgorithm
        switch encoding {
        case "gzip", "x-gzip": algorithm = .gzip()
        case "deflate": algorithm = .zlib()
        default: throw .badRequest("Content-Encoding \(encoding) is not supported; send gzip or an uncompressed body")
        }
        do {
            let inflated = try collected.decompress(with: algorithm, maxSize: limit)
            return Array(buffer: inflated)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw .badRequest("\(encoding) body inflates past the limit of \(limitText)")
        } catch {
            throw .badRequest("\(encoding) body is corrupt or truncated")
        }
    }
}
