import CompressNIO
@testable import DestinationServer
import NIOCore
import Testing

@Suite("Compressed bodies: every gzip member is read, and a stream that is cut, padded or too large is refused")
struct BodyInflaterTests {
    static func gzip(_ text: String) throws -> [UInt8] {
        var buffer = ByteBuffer(string: text)
        return Array(buffer: try buffer.compress(with: .gzip()))
    }

    static func inflate(_ body: [UInt8], format: BodyInflater.Format = .gzip, limit: Int = 1 << 20) throws(BodyInflater.Failure) -> String {
        String(decoding: try BodyInflater(format: format, limit: limit).inflate(body), as: UTF8.self)
    }

    @Test("one gzip member, and zlib's format for deflate")
    func singleStream() throws {
        #expect(try Self.inflate(try Self.gzip(#"{"a":1}"#)) == #"{"a":1}"#)
        var buffer = ByteBuffer(string: #"{"b":2}"#)
        let zlib = Array(buffer: try buffer.compress(with: .zlib()))
        #expect(try Self.inflate(zlib, format: .zlib) == #"{"b":2}"#)
    }

    @Test("members that follow one another are all read (RFC 1952), not just the first")
    func severalMembers() throws {
        let body = try Self.gzip(#"{"batch":[{"n":1},"#) + Self.gzip(#"{"n":2}]}"#)
        #expect(try Self.inflate(body) == #"{"batch":[{"n":1},{"n":2}]}"#)
    }

    @Test("a stream cut short is refused, wherever it is cut")
    func truncated() throws {
        let whole = try Self.gzip(String(repeating: #"{"type":"track","event":"A","userId":"u"}"#, count: 20))
        for keep in [0, 5, 12, whole.count / 2, whole.count - 8, whole.count - 1] {
            #expect(throws: BodyInflater.Failure.truncated, "first \(keep) of \(whole.count) bytes") {
                try Self.inflate(Array(whole.prefix(keep)))
            }
        }
    }

    @Test("bytes after the end of the stream are refused, and counted")
    func trailingData() throws {
        let body = try Self.gzip(#"{"a":1}"#) + Array("junk!".utf8)
        #expect(throws: BodyInflater.Failure.trailingData(bytes: 5)) { try Self.inflate(body) }
        var buffer = ByteBuffer(string: #"{"b":2}"#)
        let zlib = Array(buffer: try buffer.compress(with: .zlib())) + (try Self.gzip("x"))  // zlib has no members
        #expect(throws: BodyInflater.Failure.self) { try Self.inflate(zlib, format: .zlib) }
    }

    @Test("the limit is exact: a body inflating to the limit passes, one byte more does not")
    func exactLimit() throws {
        let limit = 500 * 1024
        #expect(try Self.inflate(try Self.gzip(String(repeating: " ", count: limit)), limit: limit).utf8.count == limit)
        #expect(throws: BodyInflater.Failure.tooLarge) {
            try Self.inflate(try Self.gzip(String(repeating: " ", count: limit + 1)), limit: limit)
        }
        // Split over two members, the total still counts.
        let halves = try Self.gzip(String(repeating: " ", count: limit / 2 + 1)) + Self.gzip(String(repeating: " ", count: limit / 2))
        #expect(throws: BodyInflater.Failure.tooLarge) { try Self.inflate(halves, limit: limit) }
    }

    @Test("data that is not gzip at all is corrupt, with zlib's reason")
    func corrupt() throws {
        #expect(throws: BodyInflater.Failure.corrupt("incorrect header check")) { try Self.inflate(Array("not gzip at all".utf8)) }
    }
}
