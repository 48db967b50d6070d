@testable import DestinationServer
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@Suite("Request bodies that arrive in pieces, with no Content-Length to check first")
struct RequestBodyReaderTests {
    struct ConnectionLost: Error {}

    /// A request whose body arrives as `chunks`, then ends (or fails with `failure`).
    static func request(chunks: [Int], failure: (any Error)? = nil) -> Request {
        let body = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            for size in chunks { continuation.yield(ByteBuffer(repeating: UInt8(ascii: " "), count: size)) }
            continuation.finish(throwing: failure)
        }
        return Request(head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/batch"), body: RequestBody(asyncSequence: body))
    }

    static func refusal(_ request: Request) async -> HeraldHTTPError? {
        do {
            _ = try await RequestBodyReader(limit: 500 * 1024).read(request)
            return nil
        } catch {
            return error
        }
    }

    @Test("a streamed body is refused with a 400 as soon as it passes the limit")
    func streamedPastTheLimit() async throws {
        let refusal = try #require(await Self.refusal(Self.request(chunks: Array(repeating: 60 * 1024, count: 10))))
        #expect(refusal.status == .badRequest)
        #expect(refusal.message == "request body is larger than the limit of 500 KB")
        // Exactly the limit is still read.
        #expect(await Self.refusal(Self.request(chunks: [500 * 1024])) == nil)
    }

    @Test("a body trickled in, each piece in time for the idle timeout, is refused once it passes the deadline")
    func trickledPastTheDeadline() async throws {
        let body = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
            let feeder = Task {
                for _ in 0..<20 {
                    continuation.yield(ByteBuffer(string: " "))
                    try? await Task.sleep(for: .milliseconds(40))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in feeder.cancel() }
        }
        let request = Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: "/v1/batch"), body: RequestBody(asyncSequence: body))
        var reader = RequestBodyReader(limit: 500 * 1024)
        reader.deadline = .milliseconds(200)
        do {
            _ = try await reader.read(request)
            Issue.record("a body taking 800 ms was read under a 200 ms deadline")
        } catch {
            #expect(error.status == .badRequest)
            #expect(error.message == "request body took longer than 0.2 seconds to arrive")
        }
    }

    @Test("a body whose connection fails half way is a 400 saying it could not be read to its end")
    func stopsHalfWay() async throws {
        let refusal = try #require(await Self.refusal(Self.request(chunks: [1024], failure: ConnectionLost())))
        #expect(refusal.status == .badRequest)
        #expect(refusal.message.hasPrefix("request body could not be read to its end"))
    }
}
