import SegmentSpec
import Testing

@Suite("Parsing a batch body also tells where each of its events lies in the text")
struct JSONElementRangesTests {
    func ranges(_ text: String, _ member: String = "batch") throws -> [String]? {
        let bytes = Array(text.utf8)
        let (value, ranges) = try JSONParser.parse(bytes, elementRangesOf: member)
        #expect(value == (try JSONParser.parse(bytes)))  // the same value as a plain parse
        return ranges?.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test("each element's exact text, whatever it holds")
    func elements() throws {
        #expect(try ranges(#"{"batch":[]}"#) == [])
        #expect(try ranges(#" { "sentAt" : "x", "batch" : [ {"a":[1,{"b":"]}"}]} , 12 , "s\"]" , true,null,-1.5e3 ] , "n": {"batch":[9]} } "#)
            == [#"{"a":[1,{"b":"]}"}]}"#, "12", #""s\"]""#, "true", "null", "-1.5e3"])
        #expect(try ranges(#"{"context":{"batch":[1]},"batch":[{"k":"\\"}]}"#) == [#"{"k":"\\"}"#])  // only the top level's
        #expect(try ranges(#"{"b\u0061tch":[1]}"#) == ["1"])  // the key as decoded
    }

    @Test("a repeated member: the last one, as look-up sees it")
    func repeated() throws {
        #expect(try ranges(#"{"batch":[1],"batch":[2, 3]}"#) == ["2", "3"])
        #expect(try ranges(#"{"batch":[1],"batch":{"0":1}}"#) == nil)
    }

    @Test("no ranges without such an array at the top level")
    func absent() throws {
        #expect(try ranges(#"{"batch":{"0":1}}"#) == nil)
        #expect(try ranges(#"{"other":[1]}"#) == nil)
        #expect(try ranges(#"[{"batch":[1]}]"#) == nil)
        #expect(try ranges(#"{}"#) == nil)
        #expect(throws: MalformedJSONError.self) { try ranges(#"{"batch":[1,"#) }
    }
}
