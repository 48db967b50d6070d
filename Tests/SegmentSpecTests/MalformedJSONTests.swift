import Foundation
import SegmentSpec
import Testing

@Suite("Malformed JSON gets a clear error, never a crash")
struct MalformedJSONTests {
    @Test("each kind of malformed input names the problem", arguments: [
        ("", "ends in the middle of a value"),
        (#"{"type":"track","event":"A""#, "ends in the middle of an object"),
        (#"{"type":"tra"#, "ends in the middle of a string"),
        ("[1,2", "ends in the middle of an array"),
        (#"{"a":1,}"#, "expected a quoted key"),
        (#"{"a" 1}"#, "expected ':'"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}'"),
        ("[1 2]", "expected ',' or ']'"),
        ("{} x", "unexpected data after the JSON value"),
        ("tru", "ends in the middle of a literal"),
        ("nul!", "invalid literal"),
        ("01", "unexpected data after"),
        ("-", "ends in the middle of a number"),
        ("1.", "expected a digit after '.'"),
        ("1e", "expected a digit in the exponent"),
        (#""\x""#, "invalid escape"),
        (#""\u12G4""#, "invalid hex digit"),
        ("\"a\nb\"", "unescaped control character"),
        ("'single'", "unexpected character '''"),
        ("NaN", "unexpected character 'N'"),
    ])
    func malformed(input: String, expected: String) {
        #expect {
            _ = try JSONParser.parse(input)
        } throws: { error in
            guard let error = error as? MalformedJSONError else { return false }
            return error.description.contains(expected) && error.description.hasPrefix("body is not valid JSON")
        }
    }

    @Test("invalid UTF-8 inside a string is reported", arguments: [
        [UInt8(ascii: "\""), 0xFF, 0xFE, UInt8(ascii: "\"")],
        [UInt8(ascii: "\""), 0xC3, UInt8(ascii: "\"")],
        [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), 0xED, 0xA0, 0x80, UInt8(ascii: "\"")],
    ])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(throws: MalformedJSONError.self) { try JSONParser.parse(bytes) }
        do {
            _ = try JSONParser.parse(bytes)
        } catch {
            #expect(error.reason.contains("not valid UTF-8"))
        }
    }

    @Test("huge nesting is refused at the depth limit, without exhausting the stack")
    func hugeNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect {
            _ = try JSONParser.parse(deep)
        } throws: { error in
            (error as? MalformedJSONError)?.reason.contains("nesting deeper than") == true
        }
        let objects = String(repeating: #"{"a":"#, count: 5000) + "1" + String(repeating: "}", count: 5000)
        #expect(throws: MalformedJSONError.self) { try JSONParser.parse(objects) }
    }

    @Test("nesting within the limit parses")
    func nestingWithinLimit() throws {
        let depth = JSONParser.maximumDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        _ = try JSONParser.parse(text)
    }

    @Test("every truncation of a real event fails cleanly")
    func everyTruncation() throws {
        let text = try FixtureText.eventTesterTrack
        let bytes = Array(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        for end in 0..<bytes.count {
            #expect(throws: MalformedJSONError.self) { try JSONParser.parse(Array(bytes[..<end])) }
        }
    }
}
