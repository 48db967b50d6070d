import SegmentSpec
import Testing

@Suite("Events with a key repeated in their own object, context or traits are refused, naming the key and where it is")
struct RepeatedKeyTests {
    let decoder = PayloadDecoder()

    func refusal(_ text: String, _ endpoint: PayloadEndpoint = .destination) throws -> String? {
        let payload = try decoder.decode(Array(text.utf8), endpoint: endpoint)
        guard case .failure(let error) = payload.events[0].outcome else { return nil }
        return error.description
    }

    @Test("the key and its place, at any depth", arguments: [
        (#"{"type":"track","event":"A","userId":"u1","userId":"u2"}"#, "duplicate key `userId` in the event; send each key of an object once"),
        (#"{"type":"identify","userId":"u","traits":{"email":"a@x","plan":"pro","email":"b@x"}}"#, "duplicate key `email` in `traits`; send each key of an object once"),
        (#"{"type":"track","event":"A","userId":"u","context":{"traits":{"id":1,"id":2}}}"#, "duplicate key `id` in `context.traits`; send each key of an object once"),
        (#"{"type":"track","event":"A","userId":"u","context":{"campaign":{"tags":[{"a":1},{"b":1,"b":2}]}}}"#,
         "duplicate key `b` in `context.campaign.tags[1]`; send each key of an object once"),
        (#"{"type":"track","event":"A","userId":"u","context":{"a b":{"k":1,"k":2}}}"#, #"duplicate key `k` in `context["a b"]`; send each key of an object once"#),
    ])
    func named(text: String, message: String) throws {
        #expect(try refusal(text) == message)
        #expect(try refusal(text, .single(.track)) == message, "checked before the type")
    }

    @Test("an object of more than 32 keys is checked too (hashed rather than compared in pairs)")
    func largeObject() throws {
        let members = (0..<40).map { #""t\#($0)":\#($0)"# }.joined(separator: ",")
        #expect(try refusal(#"{"type":"identify","userId":"u","traits":{\#(members),"t7":0}}"#) == "duplicate key `t7` in `traits`; send each key of an object once")
        #expect(try refusal(#"{"type":"identify","userId":"u","traits":{\#(members)}}"#) == nil)
    }

    @Test("a key repeated inside properties is accepted and read as Segment's pipeline reads it, the last occurrence winning; the raw JSON keeps both")
    func properties() throws {
        // Segment's own scrubbed production traffic does this (random.log line 238 of its direct-integration tester corpus).
        let text = #"{"type":"track","event":"A","userId":"u","properties":{"userId":0.27,"plan":"pro","userId":"u-1","items":[{"sku":"a","sku":"b"}]}}"#
        let payload = try decoder.decode(Array(text.utf8), endpoint: .destination)
        let event = try payload.events[0].outcome.get()
        #expect(event.courierData["userId"] == "u-1")
        #expect(payload.events[0].storedJSON == Array(text.utf8))
    }

    @Test("in a batch only the event with the repeated key is rejected, even when the batch's context is merged into it")
    func batchElement() throws {
        let payload = try decoder.decode(Array(#"""
            {"batch":[{"type":"track","event":"A","userId":"u","messageId":"m1"},
                      {"type":"track","event":"B","userId":"u","messageId":"m2","context":{"ip":"1.1.1.1","ip":"2.2.2.2"}}],
             "context":{"library":{"name":"analytics-node"}}}
            """#.utf8), endpoint: .batch)
        #expect((try? payload.events[0].outcome.get()) != nil)
        guard case .failure(let error) = payload.events[1].outcome else {
            Issue.record("the event with a repeated key was accepted")
            return
        }
        #expect(error.description == "duplicate key `ip` in `context`; send each key of an object once")
        #expect(payload.events[1].messageId == "m2")
    }

    @Test("a repeated key in the batch envelope or its shared context refuses the whole body")
    func envelope() throws {
        #expect(throws: PayloadError.invalidShape("duplicate key `batch` in the batch envelope; send each key once")) {
            try decoder.decode(Array(#"{"batch":[],"batch":[{"type":"track","event":"A","userId":"u"}]}"#.utf8), endpoint: .batch)
        }
        #expect(throws: PayloadError.invalidShape("duplicate key `name` in the batch-level `context.library`; send each key once")) {
            try decoder.decode(Array(#"{"batch":[],"context":{"library":{"name":"a","name":"b"}}}"#.utf8), endpoint: .batch)
        }
    }

    @Test("the same key in different objects is no repetition")
    func differentObjects() throws {
        #expect(try refusal(#"{"type":"track","event":"A","userId":"u","properties":{"userId":"x","event":"y"},"context":{"traits":{"userId":"z"}}}"#) == nil)
    }
}
