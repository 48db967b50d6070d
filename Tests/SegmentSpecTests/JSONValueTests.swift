import Foundation
import SegmentSpec
import Testing

@Suite("JSON value: lossless parse and re-encode")
struct JSONValueTests {
    @Test("integers and doubles stay distinct", arguments: [
        ("10", true), ("10.0", false), ("-0", true), ("1e3", false), ("1E-3", false), ("0.5", false),
    ])
    func integerVersusDouble(literal: String, isInteger: Bool) throws {
        let value = try JSONParser.parse(literal)
        #expect(value.numberValue?.isInteger == isInteger)
        #expect(value.encodedString() == literal)
    }

    @Test("64-bit and larger integers survive exactly")
    func bigIntegers() throws {
        let text = #"{"a":9223372036854775807,"b":-9223372036854775808,"c":18446744073709551615,"d":9007199254740993}"#
        let value = try JSONParser.parse(text)
        #expect(value["a"]?.numberValue?.int64Value == Int64.max)
        #expect(value["b"]?.numberValue?.int64Value == Int64.min)
        #expect(value["c"]?.numberValue?.literal == "18446744073709551615")
        #expect(value["d"]?.numberValue?.int64Value == 9_007_199_254_740_993)
        #expect(value.encodedString() == text)
    }

    @Test("object key order is kept through a round trip")
    func keyOrder() throws {
        let text = #"{"zeta":1,"alpha":{"y":null,"b":[true,false,"x"]},"mid":"v"}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.keys == ["zeta", "alpha", "mid"])
        #expect(value.encodedString() == text)
    }

    @Test("null is a value of its own, distinct from absence")
    func nullIsKept() throws {
        let value = try JSONParser.parse(#"{"userId":null}"#)
        #expect(value.objectValue?.contains("userId") == true)
        #expect(value["userId"] == .null)
        #expect(value["missing"] == nil)
    }

    @Test("escapes decode and re-encode to an equivalent string", arguments: [
        (#""a\"b\\c\/d\n\t\r\b\f""#, "a\"b\\c/d\n\t\r\u{08}\u{0C}"),
        (#""caf\u00e9 \ud83d\ude00""#, "café 😀"),
        (#""日本語""#, "日本語"),
        (#""lone \ud800 surrogate""#, "lone \u{FFFD} surrogate"),
    ])
    func escapes(json: String, expected: String) throws {
        let value = try JSONParser.parse(json)
        #expect(value.stringValue == expected)
        #expect(try JSONParser.parse(value.encodedString()) == value)
    }

    @Test("control characters are escaped on output")
    func controlCharactersEscaped() throws {
        let value = JSONValue.string("a\u{01}b")
        #expect(value.encodedString() == #""a\u0001b""#)
        #expect(try JSONParser.parse(value.encodedString()) == value)
    }

    @Test("repeated keys: look-up sees the last, encoding keeps both")
    func repeatedKeys() throws {
        let value = try JSONParser.parse(#"{"a":1,"a":2}"#)
        #expect(value["a"]?.numberValue?.literal == "2")
        #expect(value.encodedString() == #"{"a":1,"a":2}"#)
    }

    @Test("deep merge: nested objects merge, other values replace, order kept")
    func deepMerge() throws {
        let base = try #require(try JSONParser.parse(#"{"a":{"x":1,"y":2},"b":1}"#).objectValue)
        let patch = try #require(try JSONParser.parse(#"{"a":{"y":3,"z":4},"c":5}"#).objectValue)
        #expect(JSONValue.object(base.deepMerging(patch)).encodedString() == #"{"a":{"x":1,"y":3,"z":4},"b":1,"c":5}"#)
    }

    @Test("doubles built in code keep a fractional part")
    func doubleLiteralFromCode() {
        #expect(JSONNumber(2.0).literal == "2.0")
        #expect(JSONNumber(Double.nan).literal == "0")
    }
}
