import SegmentSpec
import Testing

@Suite("JSONArraySplitter: a bare array of events cut into elements as its bytes arrive")
struct JSONArraySplitterTests {
    /// Feeds `text` in chunks of `size` bytes; returns the elements, or the error.
    static func split(_ text: String, chunk size: Int) -> Result<[String], MalformedJSONError> {
        var splitter = JSONArraySplitter()
        var elements: [String] = []
        let bytes = Array(text.utf8)
        do throws(JSONArraySplitterError<MalformedJSONError>) {
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + size)
                try splitter.feed(bytes[start..<end]) { (element, _) throws(MalformedJSONError) in
                    elements.append(String(decoding: element, as: UTF8.self))
                }
                start = end
            }
        } catch {
            switch error {
            case .malformed(let malformed), .element(let malformed): return .failure(malformed)
            }
        }
        do {
            try splitter.finish()
        } catch {
            return .failure(error)
        }
        return .success(elements)
    }

    @Test("elements come out as sent, whatever the chunk boundaries (strings with brackets, commas and escapes)")
    func chunkBoundaries() {
        let text = #" [ {"a":"x,]}\"[","b":[1,{"c":2}]} ,"s\\",  12.5e3, null ,[[]],{} ] "#
        let expected = [#"{"a":"x,]}\"[","b":[1,{"c":2}]}"#, #""s\\""#, "12.5e3", "null", "[[]]", "{}"]
        for size in 1...text.utf8.count {
            #expect(Self.split(text, chunk: size) == .success(expected), "chunk size \(size)")
        }
    }

    @Test("an empty array has no elements")
    func empty() {
        #expect(Self.split("[]", chunk: 1) == .success([]))
        #expect(Self.split(" [ \n ] ", chunk: 3) == .success([]))
    }

    @Test("what is not an array of values is refused with its offset")
    func malformed() {
        let cases: [(String, String, Int)] = [
            ("", "the body is empty", 0),
            ("[1,2", "the body ends in the middle of an array", 4),
            ("[1,]", "a value is missing before `]` (trailing comma)", 3),
            ("[,1]", "a value is missing before `,`", 1),
            ("[1,,2]", "a value is missing before `,`", 3),
            ("[1] x", "unexpected data after the JSON value", 4),
            ("{}", "expected `[` to open the array of events", 0),
        ]
        for (text, reason, offset) in cases {
            #expect(Self.split(text, chunk: 2) == .failure(MalformedJSONError(reason: reason, offset: offset)), "\(text)")
        }
    }

    @Test("a decoded element is stored byte for byte; a malformed one refuses the request with its offset in the body")
    func decodeElements() throws {
        let decoder = PayloadDecoder(limits: .webhooksActions)
        let element = Array(#"{"type":"track","event":"A","userId":"u","properties":{"price":10.0}}"#.utf8)
        let decoded = try decoder.decodeArrayElement(element, index: 3, offset: 100)
        #expect(decoded.storedJSON == element)
        #expect(decoded.index == 3)
        do {
            _ = try decoder.decodeArrayElement(Array(#"{"a":1,}"#.utf8), index: 0, offset: 101)
            Issue.record("a malformed element was decoded")
        } catch {
            guard case .malformed(let malformed) = error else { throw error }
            #expect(malformed.offset == 108)  // the `}` at byte 7 of an element starting at byte 101
        }
    }
}
