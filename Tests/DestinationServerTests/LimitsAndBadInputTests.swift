import AutomationEngine
import CompressNIO
import Foundation
import NIOCore
import SegmentSpec
import Testing

@Suite("Every bad body gets a clear 4xx and nothing is written")
struct LimitsAndBadInputTests {
    static let event = #"{"type":"track","event":"A","userId":"u"}"#

    @Test("400s name the problem", arguments: [
        ("/inbound/segment", #"{"type":"track","#, "body is not valid JSON: the body ends in the middle of an object"),
        ("/inbound/segment", "not json", "body is not valid JSON: invalid literal (expected null) at byte 0"),
        ("/inbound/segment", "<html>", "body is not valid JSON: unexpected character '<' where a value should start"),
        ("/inbound/segment", #"{"type":"track","userId":"u"}"#, "track event requires `event`"),
        ("/inbound/segment", #"{"type":"track","event":"A"}"#, "track event requires `userId` or `anonymousId`"),
        ("/inbound/segment", #"{"type":"group","userId":"u"}"#, "group event requires `groupId`"),
        ("/inbound/segment", #"{"type":"alias","userId":"u"}"#, "alias event requires `previousId`"),
        ("/v1/track", #"{"userId":"u"}"#, "track event requires `event`"),
        ("/v1/track", #"{"type":"page","userId":"u"}"#, "`type` is \"page\" but this endpoint takes track events"),
        ("/v1/track", "[]", "body must be a JSON object holding one track event, not an array"),
        ("/v1/batch", #"{"type":"track"}"#, "body must have a `batch` array of events"),
        ("/inbound/segment", "42", "body must be an event object, an array of events or {\"batch\": [...]}, not a number"),
        ("/inbound/segment", "\"\u{1}\"", "unescaped control character"),
    ])
    func badRequests(path: String, body: String, message: String) async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post(path, body, auth: .basic(herald.ingestKey))
            #expect(reply.status == 400, "\(reply.body)")
            #expect(reply.message?.contains(message) == true, "\(reply.body)")
            #expect(try await herald.store.eventCount() == 0)
        }
    }

    @Test("invalid UTF-8 in a string is a 400")
    func invalidUTF8() async throws {
        try await LiveHerald.run { herald in
            var body = Array(#"{"type":"track","event":""#.utf8)
            body += [0xC3, 0x28]
            body += Array(#"","userId":"u"}"#.utf8)
            let reply = try await herald.post("/inbound/segment", body, auth: .basic(herald.ingestKey))
            #expect(reply.status == 400)
            #expect(reply.message?.contains("not valid UTF-8") == true)
        }
    }

    @Test("an unknown type on a single-event request is 501")
    func unknownType() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post("/inbound/segment", #"{"type":"purchase","userId":"u"}"#, auth: .basic(herald.ingestKey))
            #expect(reply.status == 501)
            #expect(reply.message == "unsupported event type: purchase")
        }
    }

    @Test("an event over 32 KB is a 400 naming its size")
    func eventTooLarge() async throws {
        try await LiveHerald.run { herald in
            let blob = String(repeating: "x", count: 40 * 1024)
            let reply = try await herald.post("/inbound/segment", #"{"type":"track","event":"A","userId":"u","properties":{"b":"\#(blob)"}}"#, auth: .basic(herald.ingestKey))
            #expect(reply.status == 400)
            #expect(reply.message?.contains("the limit is 32768 bytes (32 KB)") == true)
        }
    }

    @Test("a request over 500 KB is a 400, not 413 (Segment clients retry everything but 400)")
    func requestTooLarge() async throws {
        try await LiveHerald.run { herald in
            let events = Array(repeating: #"{"type":"track","event":"A","userId":"u","properties":{"p":"\#(String(repeating: "y", count: 1000))"}}"#, count: 600)
            let reply = try await herald.post("/v1/batch", "{\"batch\":[" + events.joined(separator: ",") + "]}", auth: .basic(herald.ingestKey))
            #expect(reply.status == 400)
            #expect(reply.message?.contains("the limit is 500 KB") == true)
            #expect(try await herald.store.eventCount() == 0)
        }
    }

    @Test("more than 2,500 events in a batch is a 400")
    func tooManyEvents() async throws {
        try await LiveHerald.run { herald in
            let body = "{\"batch\":[" + Array(repeating: Self.event, count: 2501).joined(separator: ",") + "]}"
            let reply = try await herald.post("/v1/batch", body, auth: .basic(herald.ingestKey))
            #expect(reply.status == 400)
            #expect(reply.message == "batch has 2501 events; the limit is 2500")
        }
    }

    @Test("a batch over a limit from a writeKey-only client is a 400 naming the limit, not a 401 it would retry")
    func writeKeyOnlyLimits() async throws {
        try await LiveHerald.run { herald in
            let tooMany = Array(repeating: Self.event, count: 2501).joined(separator: ",")
            let context = #"{"library":{"name":"analytics-python"},"blob":"\#(String(repeating: "c", count: 33 * 1024))"}"#
            let cases = [
                ("{\"writeKey\":\"\(herald.ingestKey)\",\"batch\":[\(tooMany)]}", "batch has 2501 events; the limit is 2500"),
                ("{\"batch\":[\(Self.event)],\"context\":\(context),\"writeKey\":\"\(herald.ingestKey)\"}", "exceed the 32 KB event limit"),
                // 30 KB of context fits one event, but merged into 600 it makes 18 MB.
                ("{\"batch\":[\(Array(repeating: Self.event, count: 600).joined(separator: ","))],\"context\":{\"blob\":\"\(String(repeating: "c", count: 30 * 1024))\"},\"writeKey\":\"\(herald.ingestKey)\"}",
                 "the batch grows past 16 MB once its shared context is merged into each event"),
            ]
            for (body, message) in cases {
                let reply = try await herald.post("/v1/batch", body, auth: .none)
                #expect(reply.status == 400, "\(reply.body)")
                #expect(reply.message?.contains(message) == true, "\(reply.body)")
            }
            // The body's key is still checked: a wrong one is a 401, whatever else is wrong.
            let wrongKey = try await herald.post("/v1/batch", "{\"writeKey\":\"hk_wrong\",\"batch\":[\(tooMany)]}", auth: .none)
            #expect(wrongKey.status == 401)
            #expect(wrongKey.message == "API key is unknown or revoked")
            #expect(try await herald.store.eventCount() == 0)
        }
    }

    @Test("a gzip bomb is refused once it inflates past the limit")
    func gzipBomb() async throws {
        try await LiveHerald.run { herald in
            // 30 MB of spaces compresses to about 30 KB.
            var zeros = ByteBuffer(repeating: UInt8(ascii: " "), count: 30 << 20)
            let bomb = Array(buffer: try zeros.compress(with: .gzip()))
            #expect(bomb.count < 500 * 1024)
            let reply = try await herald.post("/inbound/segment", bomb, auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
            #expect(reply.status == 400)
            #expect(reply.message == "gzip body inflates past the limit of 24 MB")
            let tracking = try await herald.post("/v1/batch", bomb, auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
            #expect(tracking.message == "gzip body inflates past the limit of 500 KB")
        }
    }

    @Test("a gzip body inflating a little past the limit is refused too (it got through up to 666 KB)")
    func gzipJustPastTheLimit() async throws {
        try await LiveHerald.run { herald in
            // A valid batch padded with spaces to 600 KB: 400 plain, and 400 gzipped.
            let padded = "{\"batch\":[" + String(repeating: " ", count: 600 * 1024) + "\(Self.event)]}"
            var buffer = ByteBuffer(string: padded)
            let reply = try await herald.post(
                "/v1/batch", Array(buffer: try buffer.compress(with: .gzip())), auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
            #expect(reply.status == 400)
            #expect(reply.message == "gzip body inflates past the limit of 500 KB")
            #expect(try await herald.store.eventCount() == 0)
        }
    }

    @Test("a gzip body in several members is read whole: every event in it is stored")
    func gzipMembers() async throws {
        try await LiveHerald.run { herald in
            let first = #"{"batch":[{"type":"track","event":"A","userId":"u","messageId":"member-1"},"#
            let second = #"{"type":"track","event":"B","userId":"u","messageId":"member-2"}]}"#
            var one = ByteBuffer(string: first)
            var two = ByteBuffer(string: second)
            let body = Array(buffer: try one.compress(with: .gzip())) + Array(buffer: try two.compress(with: .gzip()))
            let reply = try await herald.post("/inbound/segment", body, auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json?["accepted"] == 2)
            #expect(try await herald.store.messageIdCounts(workspace: "default") == ["member-1": 1, "member-2": 1])
        }
    }

    @Test("corrupt gzip and unknown encodings are 400s")
    func badEncodings() async throws {
        try await LiveHerald.run { herald in
            let corrupt = try await herald.post("/inbound/segment", Array("not gzip at all".utf8), auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
            #expect(corrupt.status == 400)
            #expect(corrupt.message == "gzip body is corrupt: incorrect header check")
            var good = ByteBuffer(string: Self.event)
            let compressed = Array(buffer: try good.compress(with: .gzip()))
            // Cut inside the data, or just before the 8-byte trailer: both are 400s, not the part that inflated.
            for keep in [12, compressed.count - 8] {
                let cut = try await herald.post("/inbound/segment", Array(compressed.prefix(keep)), auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
                #expect(cut.status == 400)
                #expect(cut.message == "gzip body is truncated: its compressed stream does not end")
            }
            let padded = try await herald.post("/inbound/segment", compressed + Array("junk!".utf8), auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "gzip")])
            #expect(padded.status == 400)
            #expect(padded.message == "gzip body has 5 bytes after the end of its compressed stream")
            let brotli = try await herald.post("/inbound/segment", Self.event, auth: .basic(herald.ingestKey), headers: [("Content-Encoding", "br")])
            #expect(brotli.status == 400)
            #expect(brotli.message?.contains("Content-Encoding br is not supported") == true)
        }
    }

    @Test("a body that stops half way stores nothing and the server carries on")
    func bodyStopsHalfWay() async throws {
        try await LiveHerald.run { herald in
            let auth = Data("\(herald.ingestKey):".utf8).base64EncodedString()
            let connection = try RawConnection(port: herald.port)
            connection.send("POST /inbound/segment HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic \(auth)\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"type\":\"track\",\"event\":\"Half")
            let answer = await connection.finishAndRead()
            connection.close()
            // The client stopped sending 470 bytes short: the server still answers, with a 400.
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer)")
            #expect(answer.contains("request body could not be read to its end"), "\(answer)")
            // Chunked body whose JSON is cut off: the server can answer, and answers 400.
            let chunked = try RawConnection(port: herald.port)
            let part = #"{"type":"track","event":"Half","#
            chunked.send("POST /inbound/segment HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic \(auth)\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\(String(part.utf8.count, radix: 16))\r\n\(part)\r\n0\r\n\r\n")
            let chunkedAnswer = await chunked.finishAndRead()
            chunked.close()
            #expect(chunkedAnswer.hasPrefix("HTTP/1.1 400"))
            #expect(chunkedAnswer.contains("body is not valid JSON"))
            #expect(try await herald.store.eventCount() == 0)
            #expect(try await herald.get("/health").status == 200)
            #expect(try await herald.post("/inbound/segment", Self.event, auth: .basic(herald.ingestKey)).status == 200)
        }
    }
}

@Suite("Unknown paths and methods answer JSON too")
struct UnknownRouteTests {
    @Test("an unknown path is a 404 that says where Segment traffic goes")
    func unknownPath() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.post("/v2/track", "{}", auth: .basic(herald.ingestKey))
            #expect(reply.status == 404)
            #expect(reply.message == "no endpoint POST /v2/track; Segment traffic goes to POST /inbound/segment or POST /v1/<call>")
        }
    }
}
