import SegmentSpec
import Testing

@Suite("Timestamps: ISO-8601 forms and clock-skew correction")
struct TimestampTests {
    @Test("accepted forms all read as the same instant or the expected one", arguments: [
        ("2024-05-21T18:00:18Z", Int64(1_716_314_418_000)),
        ("2024-05-21T18:00:18.9Z", 1_716_314_418_900),
        ("2024-05-21T18:00:18.91Z", 1_716_314_418_910),
        ("2024-05-21T18:00:18.913Z", 1_716_314_418_913),
        ("2024-05-21T18:00:18.9134Z", 1_716_314_418_913),
        ("2024-05-21T18:00:18.913456Z", 1_716_314_418_913),
        ("2024-05-21T18:00:18.913456789Z", 1_716_314_418_913),
        ("2024-05-21T20:00:18.913+02:00", 1_716_314_418_913),
        ("2024-05-21T13:30:18.913-04:30", 1_716_314_418_913),
        ("2024-05-21T20:00:18.913+0200", 1_716_314_418_913),
        ("2024-05-21T20:00:18.913+02", 1_716_314_418_913),
        ("2024-05-21 18:00:18.913Z", 1_716_314_418_913),
        ("1974-05-03T13:56:58Z", 136_821_418_000),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000),
        ("1969-12-31T23:59:59.999Z", -1),
    ])
    func accepted(text: String, milliseconds: Int64) throws {
        let timestamp = try #require(Timestamp(iso8601: text))
        #expect(timestamp.millisecondsSince1970 == milliseconds)
    }

    @Test("unparseable forms are nil", arguments: [
        "", "yesterday", "2024-05-21", "2024-05-21T18:00:18", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2024-05-21T24:00:00Z", "2024-05-21T18:00:18.Z", "2024-05-21T18:00:18.1234567890Z", "2024-05-21T18:00:18+25:00",
        "2024-05-21T18:00:18Zjunk", "1716314418913",
    ])
    func rejected(text: String) {
        #expect(Timestamp(iso8601: text) == nil)
    }

    @Test("formats back to UTC with milliseconds")
    func formatting() throws {
        #expect(Timestamp(millisecondsSince1970: 1_716_314_418_913).iso8601 == "2024-05-21T18:00:18.913Z")
        #expect(Timestamp(millisecondsSince1970: -1).iso8601 == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(millisecondsSince1970: 0).iso8601 == "1970-01-01T00:00:00.000Z")
    }

    @Test("sentAt corrects the client's clock: receivedAt - (sentAt - originalTimestamp)")
    func skewCorrection() throws {
        // The device clock is 1 hour fast; the event happened 2 s before it was sent.
        let event = try SpecEvents.event(#"""
            {"type":"track","event":"A","userId":"u","originalTimestamp":"2026-01-01T11:00:00.000Z","sentAt":"2026-01-01T11:00:02.000Z"}
            """#)
        let receivedAt = try #require(Timestamp(iso8601: "2026-01-01T10:00:05.000Z"))
        #expect(event.resolvedTimestamp(receivedAt: receivedAt).iso8601 == "2026-01-01T10:00:03.000Z")
    }

    @Test("timestamp stands in for originalTimestamp in the correction")
    func skewCorrectionWithTimestamp() throws {
        let event = try SpecEvents.event(#"""
            {"type":"track","event":"A","userId":"u","timestamp":"2026-01-01T11:00:00.000+01:00","sentAt":"2026-01-01T10:00:01.000Z"}
            """#)
        let receivedAt = try #require(Timestamp(iso8601: "2026-01-01T10:00:05.000Z"))
        #expect(event.resolvedTimestamp(receivedAt: receivedAt).iso8601 == "2026-01-01T10:00:04.000Z")
    }

    @Test("a skew of centuries is a wrong field, not a wrong clock: the time is taken as sent, with a warning")
    func absurdSkewNotCorrected() throws {
        let receivedAt = try #require(Timestamp(iso8601: "2026-11-23T21:00:00.000Z"))
        let future = try SpecEvents.event(#"""
            {"type":"track","event":"A","userId":"u","sentAt":"0000-01-01T00:00:00Z","originalTimestamp":"9999-12-31T23:59:59Z"}
            """#)
        #expect(future.resolvedTimestamp(receivedAt: receivedAt).iso8601 == "9999-12-31T23:59:59.000Z")
        #expect(future.warnings.contains("`sentAt` is more than 100 years from the event's time; the sender's clock was not corrected"))
        let past = try SpecEvents.event(#"""
            {"type":"track","event":"A","userId":"u","sentAt":"9999-12-31T23:59:59Z","timestamp":"0000-01-01T00:00:00Z"}
            """#)
        #expect(past.resolvedTimestamp(receivedAt: receivedAt).iso8601 == "0000-01-01T00:00:00.000Z")
        // A clock 30 years off is still corrected.
        let stale = try SpecEvents.event(#"""
            {"type":"track","event":"A","userId":"u","sentAt":"1996-11-23T21:00:00Z","originalTimestamp":"1996-11-23T20:59:58Z"}
            """#)
        #expect(stale.resolvedTimestamp(receivedAt: receivedAt).iso8601 == "2026-11-23T20:59:58.000Z")
        #expect(stale.warnings.isEmpty)
    }

    @Test("without sentAt the timestamp is taken as sent; without any, receivedAt")
    func noSentAt() throws {
        let receivedAt = Timestamp(millisecondsSince1970: 1_000)
        let sent = try SpecEvents.event(#"{"type":"track","event":"A","userId":"u","timestamp":"2021-12-07T08:41:59.410Z"}"#)
        #expect(sent.resolvedTimestamp(receivedAt: receivedAt).iso8601 == "2021-12-07T08:41:59.410Z")
        let none = try SpecEvents.event(#"{"type":"track","event":"A","userId":"u"}"#)
        #expect(none.resolvedTimestamp(receivedAt: receivedAt) == receivedAt)
    }

    @Test("an unparseable timestamp is a warning, not a rejection, and receivedAt is used")
    func unparseableIsWarning() throws {
        let event = try SpecEvents.event(#"{"type":"track","event":"A","userId":"u","timestamp":"last tuesday","sentAt":12}"#)
        #expect(event.warnings.contains("`timestamp` \"last tuesday\" is not an ISO-8601 time; it was ignored"))
        #expect(event.warnings.contains("`sentAt` is a number, not an ISO-8601 time; it was ignored"))
        let receivedAt = Timestamp(millisecondsSince1970: 42)
        #expect(event.resolvedTimestamp(receivedAt: receivedAt) == receivedAt)
    }
}
