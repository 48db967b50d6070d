import CZlib

/// Inflates a gzip or zlib ("deflate") request body with the system's zlib, to an exact cap.
///
/// A body is accepted only when its compressed stream ends where the body ends: every member
/// of a gzip body is read (RFC 1952 lets several follow one another), a stream cut short is
/// refused rather than read as far as it goes, and so are bytes after its end. The output
/// never grows past `limit` bytes, so a gzip bomb costs at most the limit.
struct BodyInflater {
    /// The compressed format of a body.
    enum Format {
        /// RFC 1952 (`Content-Encoding: gzip`), one member or several.
        case gzip
        /// RFC 1950 (`Content-Encoding: deflate`, as HTTP defines it).
        case zlib
    }

    /// Why a body could not be inflated.
    enum Failure: Error, Equatable {
        /// The inflated body would pass the limit.
        case tooLarge
        /// The body ends before its compressed stream does.
        case truncated
        /// Bytes that are not part of the compressed stream follow its end.
        case trailingData(bytes: Int)
        /// zlib found the data invalid; its reason.
        case corrupt(String)
        /// zlib could not get memory: the server's problem, not the body's.
        case outOfMemory
    }

    let format: Format
    /// Most bytes the inflated body may hold.
    let limit: Int

    /// The inflated body.
    func inflate(_ body: [UInt8]) throws(Failure) -> [UInt8] {
        // On the heap: zlib keeps a pointer back to the stream and checks it on every call.
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deallocate() }
        // 15 is zlib's largest window; +16 makes zlib expect the gzip wrapper instead of zlib's.
        let windowBits: Int32 = format == .gzip ? 15 + 16 : 15
        switch inflateInit2_(stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) {
        case Z_OK: break
        case Z_MEM_ERROR: throw .outOfMemory
        default: throw .corrupt("zlib could not start inflating")
        }
        defer { inflateEnd(stream) }
        var output: [UInt8] = []
        var window = [UInt8](repeating: 0, count: 64 * 1024)
        let result: Result<[UInt8], Failure> = body.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = UInt32(input.count)
            while true {
                let status = window.withUnsafeMutableBufferPointer { space in
                    stream.pointee.next_out = space.baseAddress
                    stream.pointee.avail_out = UInt32(space.count)
                    return CZlib.inflate(stream, Z_NO_FLUSH)
                }
                let produced = window.count - Int(stream.pointee.avail_out)
                guard output.count + produced <= limit else { return .failure(.tooLarge) }
                output.append(contentsOf: window[..<produced])
                switch status {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    let remaining = Int(stream.pointee.avail_in)
                    guard remaining > 0 else { return .success(output) }
                    // Another gzip member starts with the same two magic bytes; anything else is trailing data.
                    guard format == .gzip, remaining >= 2, stream.pointee.next_in[0] == 0x1f, stream.pointee.next_in[1] == 0x8b else {
                        return .failure(.trailingData(bytes: remaining))
                    }
                    guard inflateReset(stream) == Z_OK else { return .failure(.corrupt("zlib could not start the next gzip member")) }
                case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                    // No progress is possible without more input: the stream stops before its end.
                    return .failure(.truncated)
                case Z_BUF_ERROR:
                    return .failure(.corrupt("zlib made no progress"))  // not expected: every call gets an empty window
                case Z_MEM_ERROR:
                    return .failure(.outOfMemory)
                default:
                    let reason = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                    return .failure(.corrupt(reason))
                }
            }
        }
        return try result.get()
    }
}
