import SegmentSpec
import Testing

@Suite("Payload decoding: single events, arrays and batch envelopes")
struct PayloadDecoderTests {
    let decoder = PayloadDecoder()

    func decode(_ text: String, _ endpoint: PayloadEndpoint) throws -> DecodedPayload {
        try decoder.decode(Array(text.utf8), endpoint: endpoint)
    }

    @Test("a single event keeps its original bytes for storage")
    func singleKeepsBytes() throws {
        let text = #"{ "type": "track", "event": "A", "userId": "u", "properties": {"price": 10.0} }"#
        let payload = try decode(text, .destination)
        #expect(payload.shape == .single)
        #expect(payload.events.count == 1)
        #expect(payload.events[0].storedJSON == Array(text.utf8))
        #expect(try payload.events[0].outcome.get().courierName == "track/A")
    }

    @Test("writeKey is read for authentication and never stored")
    func writeKeyStripped() throws {
        let payload = try decode(#"{"type":"track","event":"A","userId":"u","writeKey":"secret"}"#, .single(.track))
        #expect(payload.writeKey == "secret")
        #expect(!String(decoding: payload.events[0].storedJSON, as: UTF8.self).contains("secret"))
        let batch = try decode(#"{"writeKey":"k2","batch":[{"type":"track","event":"A","userId":"u","writeKey":"k3"}]}"#, .batch)
        #expect(batch.writeKey == "k2")
        #expect(!String(decoding: batch.events[0].storedJSON, as: UTF8.self).contains("k3"))
    }

    @Test("a batch merges its shared context, integrations and sentAt; the event's own values win")
    func batchMerge() throws {
        let text = #"""
            {"batch":[
              {"type":"track","event":"A","userId":"u","context":{"ip":"1.1.1.1"},"integrations":{"Mixpanel":false}},
              {"type":"identify","userId":"u","sentAt":"2026-01-01T00:00:09.000Z"}
            ],
            "context":{"library":{"name":"analytics-python","version":"2.3.0"},"ip":"9.9.9.9"},
            "integrations":{"All":true},
            "sentAt":"2026-01-01T00:00:05.000Z"}
            """#
        let payload = try decode(text, .batch)
        #expect(payload.shape == .batch)
        let first = try payload.events[0].outcome.get()
        #expect(first.context.ip == "1.1.1.1")
        #expect(first.context.library?.name == "analytics-python")
        #expect(first.integrations?["All"] == true)
        #expect(first.integrations?["Mixpanel"] == false)
        #expect(first.sentAtText == "2026-01-01T00:00:05.000Z")
        let second = try payload.events[1].outcome.get()
        #expect(second.context.ip == "9.9.9.9")
        #expect(second.sentAtText == "2026-01-01T00:00:09.000Z")
        let stored = try JSONParser.parse(payload.events[0].storedJSON)
        #expect(stored["context"]?["library"]?["version"] == "2.3.0")
    }

    @Test("an event of a batch is stored as sent, with the batch's shared fields appended when merging only adds them")
    func batchEventKeepsItsBytes() throws {
        let own = #"{ "type": "track", "event": "A", "userId": "u", "properties": {"price": 10.0, "tags": ["a]", "{b"]} }"#
        let payload = try decode(#"{"batch": [ \#(own) , {}], "sentAt": "2026-01-01T00:00:05.000Z", "context": {"ip": "9.9.9.9"}}"#, .batch)
        let stored = String(decoding: payload.events[0].storedJSON, as: UTF8.self)
        #expect(stored == own.dropLast() + #","context":{"ip":"9.9.9.9"},"sentAt":"2026-01-01T00:00:05.000Z"}"#)
        #expect(try payload.events[0].outcome.get().sentAtText == "2026-01-01T00:00:05.000Z")
        #expect(String(decoding: payload.events[1].storedJSON, as: UTF8.self).isEmpty)  // rejected: no type
        #expect(try decode(#"{"batch":[{}],"sentAt":"2026-01-01T00:00:05.000Z"}"#, .batch).events[0].messageId == nil)
    }

    @Test("whether stored as sent or encoded again, a batch's events store exactly the merged event")
    func batchStoredTextMatchesTheMerge() throws {
        let sentAt = #""sentAt":"2026-01-01T00:00:05.000Z""#
        // (body, expected stored event): appends, in-place replacements and merges, writeKey, escapes.
        let cases: [(String, String)] = [
            (#"{"batch":[{"type":"track","event":"A","userId":"u"}],\#(sentAt)}"#, #"{"type":"track","event":"A","userId":"u",\#(sentAt)}"#),
            (#"{"batch":[{"type":"track","event":"A","userId":"u","sentAt":null}],\#(sentAt)}"#, #"{"type":"track","event":"A","userId":"u",\#(sentAt)}"#),
            (#"{"batch":[{"type":"track","event":"A","userId":"u","context":{"ip":"1.1.1.1"}}],"context":{"ip":"9.9.9.9","locale":"fr"}}"#,
             #"{"type":"track","event":"A","userId":"u","context":{"ip":"1.1.1.1","locale":"fr"}}"#),
            (#"{"batch":[{"type":"track","event":"A","userId":"u","writeKey":"k"}],\#(sentAt)}"#, #"{"type":"track","event":"A","userId":"u",\#(sentAt)}"#),
            (#"{"batch":[{"type":"track","event":"A \"]}\\","userId":"u"}],\#(sentAt)}"#, #"{"type":"track","event":"A \"]}\\","userId":"u",\#(sentAt)}"#),
            (#"{"batch":[{"type":"track","event":"A","userId":"u","context":{"ip":"1.1.1.1"}}],"integrations":{"All":false}}"#,
             #"{"type":"track","event":"A","userId":"u","context":{"ip":"1.1.1.1"},"integrations":{"All":false}}"#),
        ]
        for (body, expected) in cases {
            let payload = try decode(body, .batch)
            let event = try #require(payload.events.first)
            #expect(try JSONParser.parse(event.storedJSON) == JSONParser.parse(expected), "\(body)")
            #expect(try JSONParser.parse(event.storedJSON).objectValue?.keys == JSONParser.parse(expected).objectValue?.keys, "\(body)")
        }
        // A repeated `batch` or a repeated member of an event has no single meaning to store: refused (RepeatedKeyTests).
        #expect(throws: PayloadError.self) { try decode(#"{"batch":[],"batch":[{"type":"track","event":"A","userId":"u"}],\#(sentAt)}"#, .batch) }
        let repeated = try decode(#"{"batch":[{"type":"track","event":"A","userId":"u","sentAt":"a","sentAt":null}],\#(sentAt)}"#, .batch)
        #expect(repeated.events[0].storedJSON.isEmpty)
    }

    @Test("a batch event's size counts as sent, but one that fits the limit once compacted is still taken")
    func batchEventSizeLimit() throws {
        let padding = String(repeating: " ", count: 20_000)
        let roomy = #"{"type":"track",\#(padding)"event":"A",\#(padding)"userId":"u"}"#  // 40 KB as sent, 40 B compacted
        let payload = try decode(#"{"batch":[\#(roomy)],"sentAt":"2026-01-01T00:00:05.000Z"}"#, .batch)
        #expect(try payload.events[0].outcome.get().courierName == "track/A")
        #expect(payload.events[0].storedJSON == Array(#"{"type":"track","event":"A","userId":"u","sentAt":"2026-01-01T00:00:05.000Z"}"#.utf8))
        let large = #"{"type":"track","event":"A","userId":"u","properties":{"text":"\#(String(repeating: "x", count: 33_000))"}}"#
        guard case .failure(.tooLarge) = try decode(#"{"batch":[\#(large)]}"#, .batch).events[0].outcome else {
            Issue.record("an event over 32 KB once compacted must be refused")
            return
        }
    }

    @Test("a JSON array on the destination endpoint is a batch of its elements")
    func arrayOfEvents() throws {
        let payload = try decode(#"[{"type":"track","event":"A","userId":"u"},{"type":"page","userId":"u"}]"#, .destination)
        #expect(payload.shape == .array)
        #expect(payload.events.map { (try? $0.outcome.get())?.courierName } == ["track/A", "page"])
    }

    @Test("invalid events in a batch are rejected one by one, with index and messageId")
    func partialBatch() throws {
        let text = #"{"batch":[{"type":"track","event":"A","userId":"u","messageId":"m1"},{"type":"track","userId":"u","messageId":"m2"},"oops",{"type":"nope","userId":"u"}]}"#
        let payload = try decode(text, .destination)
        #expect(payload.events.count == 4)
        #expect((try? payload.events[0].outcome.get()) != nil)
        #expect(payload.events[1].messageId == "m2")
        #expect(payload.events[1].outcome.failure == .invalid("track event requires `event`"))
        #expect(payload.events[2].outcome.failure == .invalid("event at index 2 must be an object, not a string"))
        #expect(payload.events[3].outcome.failure == .unsupportedType("nope"))
    }

    @Test("shape errors name what was expected", arguments: [
        ("[]", PayloadEndpoint.single(.track), "body must be a JSON object holding one track event, not an array"),
        ("[]", .batch, "body must be a JSON object with a `batch` array, not an array"),
        (#""hi""#, .destination, #"body must be an event object, an array of events or {"batch": [...]}, not a string"#),
        (#"{"type":"track"}"#, .batch, "body must have a `batch` array of events"),
        (#"{"batch":{}}"#, .batch, "`batch` must be an array of events, not an object"),
        (#"{"batch":[],"context":"web"}"#, .batch, "batch-level `context` must be an object, not a string"),
        (#"{"batch":[],"integrations":7}"#, .destination, "batch-level `integrations` must be an object, not a number"),
    ])
    func shapeErrors(text: String, endpoint: PayloadEndpoint, message: String) {
        #expect(throws: PayloadError.invalidShape(message)) { try decoder.decode(Array(text.utf8), endpoint: endpoint) }
    }

    @Test("more than 2,500 events in a batch is refused as a whole")
    func tooManyEvents() throws {
        let event = #"{"type":"track","event":"A","userId":"u"}"#
        let ok = "{\"batch\":[" + Array(repeating: event, count: 2500).joined(separator: ",") + "]}"
        #expect(try decode(ok, .batch).events.count == 2500)
        let tooMany = "{\"batch\":[" + Array(repeating: event, count: 2501).joined(separator: ",") + "]}"
        #expect(throws: PayloadError.tooManyEvents(count: 2501, limit: 2500)) { try decoder.decode(Array(tooMany.utf8), endpoint: .batch) }
    }

    @Test("an event over 32 KB is rejected with its size")
    func eventTooLarge() throws {
        let big = String(repeating: "x", count: 33 * 1024)
        let single = try decode(#"{"type":"track","event":"A","userId":"u","properties":{"blob":"\#(big)"}}"#, .destination)
        guard case .failure(.tooLarge(let bytes, let limit)) = single.events[0].outcome else {
            Issue.record("expected tooLarge")
            return
        }
        #expect(bytes > 32 * 1024)
        #expect(limit == 32 * 1024)
        let batch = try decode(#"{"batch":[{"type":"track","event":"A","userId":"u","properties":{"blob":"\#(big)"}}]}"#, .batch)
        #expect(batch.events[0].outcome.failure?.description.contains("the limit is 32768 bytes") == true)
    }

    @Test("malformed JSON is a payload error with the parser's message")
    func malformed() {
        #expect {
            try decoder.decode(Array(#"{"type":"track","#.utf8), endpoint: .destination)
        } throws: { error in
            guard case .malformed(let inner) = error as? PayloadError else { return false }
            return inner.reason.contains("ends in the middle")
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
