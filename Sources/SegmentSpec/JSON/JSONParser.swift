/// A strict RFC 8259 JSON parser producing ``JSONValue``.
///
/// Written by hand because no available package keeps number literals and key order,
/// and because it sits on the ingest hot path. It never traps on bad input: truncation,
/// stray bytes, invalid UTF-8 and excessive nesting all throw ``MalformedJSONError``.
public enum JSONParser {
    /// Deepest nesting accepted. Real Segment payloads nest under 10 levels; the limit keeps
    /// recursion far from the stack's end on small task stacks.
    public static let maximumDepth = 128

    /// Parses one JSON document from UTF-8 bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(MalformedJSONError) -> JSONValue {
        try document(in: bytes, rangesMember: nil).value
    }

    /// Parses one JSON document from UTF-8 bytes.
    public static func parse(_ bytes: [UInt8]) throws(MalformedJSONError) -> JSONValue {
        try withBuffer(of: bytes) { buffer throws(MalformedJSONError) in try document(in: buffer, rangesMember: nil).value }
    }

    /// Parses one JSON document, and finds where each element of the array that is the value
    /// of `member` in the top-level object lies in `bytes` (so it can be stored as sent).
    ///
    /// - Returns: the value, and the elements' byte ranges; nil ranges when the document is
    ///   not an object or `member` is not an array. With a repeated member, the ranges are
    ///   those of the last occurrence, the one ``JSONObject`` look-up returns.
    public static func parse(_ bytes: [UInt8], elementRangesOf member: String) throws(MalformedJSONError) -> (value: JSONValue, elementRanges: [Range<Int>]?) {
        try withBuffer(of: bytes) { buffer throws(MalformedJSONError) in try document(in: buffer, rangesMember: member) }
    }

    /// The whole document in `bytes`, and the element ranges of `rangesMember` when one is given.
    private static func document(
        in bytes: UnsafeRawBufferPointer, rangesMember: String?
    ) throws(MalformedJSONError) -> (value: JSONValue, elementRanges: [Range<Int>]?) {
        var reader = Reader(bytes: bytes)
        reader.rangesMember = rangesMember
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        if reader.index < bytes.count {
            throw reader.error("unexpected data after the JSON value")
        }
        return (value, reader.elementRanges)
    }

    /// Runs `body` on the array's bytes, keeping its typed error (`withUnsafeBytes` rethrows untyped).
    private static func withBuffer<T>(
        of bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(MalformedJSONError) -> T
    ) throws(MalformedJSONError) -> T {
        do {
            return try bytes.withUnsafeBytes { buffer in try body(buffer) }
        } catch let error as MalformedJSONError {
            throw error
        } catch {
            preconditionFailure("unreachable: parse only throws MalformedJSONError")
        }
    }

    /// Parses one JSON document from a string.
    public static func parse(_ text: String) throws(MalformedJSONError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")

private struct Reader {
    let bytes: UnsafeRawBufferPointer
    var index = 0
    /// A member of the top-level object whose array elements' byte ranges are recorded.
    var rangesMember: String?
    /// The recorded ranges (see ``JSONParser/parse(_:elementRangesOf:)``).
    var elementRanges: [Range<Int>]?

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    func error(_ reason: String) -> MalformedJSONError {
        MalformedJSONError(reason: reason, offset: index)
    }

    func endError(_ what: String) -> MalformedJSONError {
        MalformedJSONError(reason: "the body ends in the middle of \(what)", offset: index)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(MalformedJSONError) -> JSONValue {
        guard index < bytes.count else { throw endError("a value") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try parseArray(depth: depth + 1))
        case quote: return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .number(try parseNumber())
        default:
            throw error("unexpected character \(describe(bytes[index])) where a value should start")
        }
    }

    func describe(_ byte: UInt8) -> String {
        if byte >= 0x20 && byte < 0x7F { return "'\(Character(Unicode.Scalar(byte)))'" }
        return "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }

    mutating func expectLiteral(_ literal: StaticString) throws(MalformedJSONError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw endError("a literal") }
        let pointer = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != pointer[offset] {
            throw error("invalid literal (expected \(literal))")
        }
        index += count
    }

    mutating func parseObject(depth: Int) throws(MalformedJSONError) -> JSONObject {
        guard depth <= JSONParser.maximumDepth else {
            throw error("nesting deeper than \(JSONParser.maximumDepth) levels")
        }
        index += 1  // {
        var members: [JSONObject.Member] = []
        skipWhitespace()
        guard index < bytes.count else { throw endError("an object") }
        if bytes[index] == UInt8(ascii: "}") {
            index += 1
            return JSONObject(members: members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count else { throw endError("an object") }
            guard bytes[index] == quote else { throw error("expected a quoted key in an object") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count else { throw endError("an object") }
            guard bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
            index += 1
            skipWhitespace()
            let value: JSONValue
            if depth == 1, let rangesMember, key == rangesMember {
                // The last occurrence decides, as for look-up.
                elementRanges = nil
                if index < bytes.count, bytes[index] == UInt8(ascii: "[") {
                    value = .array(try parseArray(depth: depth + 1, recordingRanges: true))
                } else {
                    value = try parseValue(depth: depth)
                }
            } else {
                value = try parseValue(depth: depth)
            }
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw endError("an object") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return JSONObject(members: members)
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    mutating func parseArray(depth: Int, recordingRanges: Bool = false) throws(MalformedJSONError) -> [JSONValue] {
        guard depth <= JSONParser.maximumDepth else {
            throw error("nesting deeper than \(JSONParser.maximumDepth) levels")
        }
        index += 1  // [
        var elements: [JSONValue] = []
        var ranges: [Range<Int>] = []
        skipWhitespace()
        guard index < bytes.count else { throw endError("an array") }
        if bytes[index] == UInt8(ascii: "]") {
            index += 1
            if recordingRanges { elementRanges = ranges }
            return elements
        }
        while true {
            skipWhitespace()
            let start = index
            elements.append(try parseValue(depth: depth))
            if recordingRanges { ranges.append(start..<index) }
            skipWhitespace()
            guard index < bytes.count else { throw endError("an array") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                if recordingRanges { elementRanges = ranges }
                return elements
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    mutating func parseString() throws(MalformedJSONError) -> String {
        index += 1  // opening quote
        let start = index
        var highBits: UInt8 = 0
        // Fast path: no escapes, the bytes are the string.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // Pure ASCII needs no validation; anything else is checked strictly.
                if highBits & 0x80 == 0 { return String(decoding: slice, as: UTF8.self) }
                guard let string = String(validating: slice.bindMemory(to: UInt8.self), as: UTF8.self) else {
                    index = start
                    throw error("a string is not valid UTF-8")
                }
                return string
            }
            highBits |= byte
            if byte == backslash { break }
            if byte < 0x20 { throw error("unescaped control character in a string") }
            index += 1
        }
        guard index < bytes.count else { throw endError("a string") }
        return try parseEscapedString(start: start)
    }

    mutating func parseEscapedString(start: Int) throws(MalformedJSONError) -> String {
        var buffer: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                index += 1
                guard let string = String(validating: buffer, as: UTF8.self) else {
                    index = start
                    throw error("a string is not valid UTF-8")
                }
                return string
            }
            if byte < 0x20 { throw error("unescaped control character in a string") }
            if byte != backslash {
                buffer.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { throw endError("a string") }
            let escape = bytes[index]
            index += 1
            switch escape {
            case quote: buffer.append(quote)
            case backslash: buffer.append(backslash)
            case UInt8(ascii: "/"): buffer.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"): appendScalar(try parseUnicodeEscape(), to: &buffer)
            default:
                index -= 1
                throw error("invalid escape \\\(describe(escape)) in a string")
            }
        }
        throw endError("a string")
    }

    /// Reads the four hex digits after `\u` (and a following low surrogate when needed).
    /// A lone surrogate cannot be held by a Swift string; it becomes U+FFFD rather than
    /// rejecting an event over one character.
    mutating func parseUnicodeEscape() throws(MalformedJSONError) -> Unicode.Scalar {
        let first = try readHex4()
        if (0xD800...0xDBFF).contains(first) {
            if index + 1 < bytes.count, bytes[index] == backslash, bytes[index + 1] == UInt8(ascii: "u") {
                let saved = index
                index += 2
                let second = try readHex4()
                if (0xDC00...0xDFFF).contains(second) {
                    let combined = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    return Unicode.Scalar(combined) ?? "\u{FFFD}"
                }
                index = saved
            }
            return "\u{FFFD}"
        }
        return Unicode.Scalar(first) ?? "\u{FFFD}"
    }

    mutating func readHex4() throws(MalformedJSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw endError("a \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    func appendScalar(_ scalar: Unicode.Scalar, to buffer: inout [UInt8]) {
        UTF8.encode(scalar) { buffer.append($0) }
    }

    mutating func parseNumber() throws(MalformedJSONError) -> JSONNumber {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { throw endError("a number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else if isDigit(bytes[index]) {
            skipDigits()
        } else {
            throw error("invalid number: expected a digit")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit after '.'") }
            skipDigits()
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit in the exponent") }
            skipDigits()
        }
        let literal = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return JSONNumber(validatedLiteral: literal)
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    @inline(__always)
    mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }
}
