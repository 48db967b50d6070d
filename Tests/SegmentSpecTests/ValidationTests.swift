import SegmentSpec
import Testing

@Suite("Validation: each rule names the field and the call")
struct ValidationTests {
    @Test("invalid events are refused with a message naming the problem", arguments: [
        (#"{"event":"A","userId":"u"}"#, "event requires `type` (one of identify, track, page, screen, group, alias, delete)"),
        (#"{"type":7,"userId":"u"}"#, "`type` must be a string, not a number"),
        (#"{"type":"track","event":"A"}"#, "track event requires `userId` or `anonymousId`"),
        (#"{"type":"identify","userId":null,"anonymousId":null}"#, "identify event requires `userId` or `anonymousId`"),
        (#"{"type":"page","userId":""}"#, "page event requires `userId` or `anonymousId`"),
        (#"{"type":"track","event":"A","userId":{"id":1}}"#, "`userId` must be a string, not an object"),
        (#"{"type":"track","event":"A","userId":"u","anonymousId":true}"#, "`anonymousId` must be a string, not a boolean"),
        (#"{"type":"track","userId":"u"}"#, "track event requires `event`"),
        (#"{"type":"track","userId":"u","event":null}"#, "track event requires `event`"),
        (#"{"type":"track","userId":"u","event":""}"#, "track event requires a non-empty `event`"),
        (#"{"type":"track","userId":"u","event":["A"]}"#, "track event: `event` must be a string, not an array"),
        (#"{"type":"group","userId":"u"}"#, "group event requires `groupId`"),
        (#"{"type":"group","userId":"u","groupId":""}"#, "group event requires `groupId`"),
        (#"{"type":"group","userId":"u","groupId":{}}"#, "group event: `groupId` must be a string, not an object"),
        (#"{"type":"alias","userId":"u","previousId":[1]}"#, "alias event: `previousId` must be a string, not an array"),
        (#"{"type":"alias","userId":"u"}"#, "alias event requires `previousId`"),
        (#"{"type":"alias","anonymousId":"a","previousId":"p"}"#, "alias event requires `userId`"),
        (#"{"type":"page","userId":"u","name":5}"#, "page event: `name` must be a string, not a number"),
        (#"{"type":"track","event":"A","userId":"u","properties":[1]}"#, "track event: `properties` must be an object, not an array"),
        (#"{"type":"identify","userId":"u","traits":"vip"}"#, "identify event: `traits` must be an object, not a string"),
        (#"{"type":"identify","userId":"u","context":1}"#, "identify event: `context` must be an object, not a number"),
        (#"{"type":"track","event":"A","userId":"u","messageId":{"x":1}}"#, "`messageId` must be a string, not an object"),
    ])
    func invalid(json: String, message: String) throws {
        let error = try #require(try SpecEvents.validationError(json))
        #expect(error == .invalid(message))
        #expect(error.description == message)
    }

    @Test("messageId longer than 100 characters is refused; 100 is fine")
    func messageIdLength() throws {
        let ok = String(repeating: "m", count: 100)
        #expect(try SpecEvents.validationError(#"{"type":"track","event":"A","userId":"u","messageId":"\#(ok)"}"#) == nil)
        let long = String(repeating: "m", count: 101)
        let error = try SpecEvents.validationError(#"{"type":"track","event":"A","userId":"u","messageId":"\#(long)"}"#)
        #expect(error == .invalid("`messageId` is 101 characters; the limit is 100"))
    }

    @Test("messageId length counts Unicode scalars, so combining marks cannot stretch it")
    func messageIdCombiningMarks() throws {
        // 10 characters on screen, 610 scalars: an "a" followed by 60 combining acute accents, ten times.
        let stretched = String(repeating: "a" + String(repeating: "\u{0301}", count: 60), count: 10)
        #expect(stretched.count == 10)
        let error = try SpecEvents.validationError(#"{"type":"track","event":"A","userId":"u","messageId":"\#(stretched)"}"#)
        #expect(error == .invalid("`messageId` is 610 characters; the limit is 100"))
    }

    @Test("a NUL inside an id or a name is refused: SQLite would store only what comes before it", arguments: [
        (#"{"type":"track","event":"A","userId":"victim\u0000attacker"}"#, "track event: `userId` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"track","event":"A","anonymousId":"a\u0000"}"#, "track event: `anonymousId` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"track","event":"A","userId":"u","messageId":"m\u0000b"}"#, "track event: `messageId` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"track","event":"Order\u0000Hidden","userId":"u"}"#, "track event: `event` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"page","name":"Home\u0000","userId":"u"}"#, "page event: `name` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"group","groupId":"g\u0000h","userId":"u"}"#, "group event: `groupId` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"alias","previousId":"\u0000p","userId":"u"}"#, "alias event: `previousId` contains a NUL character (\\u0000), which an id or a name cannot hold"),
        (#"{"type":"track","event":"A","userId":"u","context":{"groupId":"g\u0000"}}"#, "track event: `context.groupId` contains a NUL character (\\u0000), which an id or a name cannot hold"),
    ])
    func nulInIdentifiers(json: String, message: String) throws {
        let error = try #require(try SpecEvents.validationError(json))
        #expect(error == .invalid(message))
    }

    @Test("a NUL elsewhere (in properties or traits) is kept: it is stored inside the event's JSON text")
    func nulInProperties() throws {
        let event = try SpecEvents.event(#"{"type":"track","event":"A","userId":"u","properties":{"note":"a\u0000b"}}"#)
        #expect(event.json["properties"]?.objectValue?["note"]?.stringValue == "a\u{0}b")
    }

    @Test("an unknown type is its own error, for the server's 501")
    func unknownType() throws {
        let error = try SpecEvents.validationError(#"{"type":"purchase","userId":"u"}"#)
        #expect(error == .unsupportedType("purchase"))
        #expect(error?.description == "unsupported event type: purchase")
    }

    @Test("a long unknown type is quoted in part, not echoed whole")
    func longTypeQuotedInPart() throws {
        let type = String(repeating: "x", count: 10_000)
        let error = try #require(try SpecEvents.validationError(#"{"type":"\#(type)","userId":"u"}"#))
        #expect(error.description == "unsupported event type: " + String(repeating: "x", count: 64) + "…")
        // One character carrying 30,000 combining marks is cut too.
        let stretched = "x" + String(repeating: "\u{0301}", count: 30_000)
        let stretchedError = try #require(try SpecEvents.validationError(#"{"type":"\#(stretched)","userId":"u"}"#))
        #expect(stretchedError.description.unicodeScalars.count < 100)
    }

    @Test("a numeric userId is accepted as its decimal text, as Segment does")
    func numericUserId() throws {
        let event = try SpecEvents.event(#"{"type":"identify","userId":12345678901234}"#)
        #expect(event.userId == "12345678901234")
        #expect(event.profileId == "12345678901234")
    }

    @Test("either id may be null when the other is set")
    func nullIdAllowed() throws {
        let anonymous = try SpecEvents.event(#"{"type":"track","event":"A","userId":null,"anonymousId":"anon-1"}"#)
        #expect(anonymous.userId == nil)
        #expect(anonymous.profileId == "anon-1")
        let known = try SpecEvents.event(#"{"type":"track","event":"A","userId":"u","anonymousId":null}"#)
        #expect(known.profileId == "u")
    }

    @Test("the endpoint supplies a missing type and refuses a conflicting one")
    func typeFromPath() throws {
        let event = try SpecEvents.event(#"{"event":"A","userId":"u"}"#, defaultType: .track)
        #expect(event.type == .track)
        let error = try SpecEvents.validationError(#"{"type":"identify","userId":"u"}"#, defaultType: .track)
        #expect(error == .invalid("`type` is \"identify\" but this endpoint takes track events"))
    }

    @Test("delete needs only an id")
    func deleteEvent() throws {
        let event = try SpecEvents.event(try FixtureText.spec("delete"))
        #expect(event.type == .delete)
        #expect(event.userId == "97980cfea0067")
    }
}
