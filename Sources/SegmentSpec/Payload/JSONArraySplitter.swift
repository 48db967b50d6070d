/// Cuts a top-level JSON array into its elements' bytes as the body arrives, chunk by chunk.
///
/// Segment's Webhooks (Actions) destination sends batches as a bare array of up to 4,000
/// events (several megabytes). Cutting it as it arrives lets each event be parsed and
/// validated on its own while the next chunks are still on the wire, so the request never
/// holds the whole body, its copy and the whole document's tree at once: only the decoded
/// events and the element being read.
///
/// The splitter only follows strings and nesting to find where each element ends; each
/// element is then parsed strictly by ``JSONParser`` (``PayloadDecoder/decodeArrayElement(_:index:offset:)``),
/// which reports anything else that is wrong with it.
public struct JSONArraySplitter: Sendable {
    private enum Position: Sendable {
        /// Before the opening `[`.
        case start
        /// After `[` or `,`: the next element has not started.
        case beforeElement(afterComma: Bool)
        /// Inside an element.
        case inElement
        /// After the closing `]`: only whitespace may follow.
        case finished
    }

    private var position = Position.start
    /// Bytes of the element being read.
    private var element: [UInt8] = []
    /// Offset in the whole body of the element being read.
    private var elementStart = 0
    /// Bytes consumed so far (for offsets in error messages).
    private var offset = 0
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// Elements seen so far.
    public private(set) var count = 0

    /// A splitter expecting an array.
    public init() {}

    /// Whether the closing `]` has been read.
    public var isFinished: Bool {
        if case .finished = position { return true }
        return false
    }

    /// Reads `bytes`, calling `element` with each complete element's bytes (whitespace
    /// around it removed) and its offset in the body.
    public mutating func feed<E: Error>(
        _ bytes: some Sequence<UInt8>, element onElement: (_ bytes: [UInt8], _ offset: Int) throws(E) -> Void
    ) throws(JSONArraySplitterError<E>) {
        for byte in bytes {
            defer { offset += 1 }
            switch position {
            case .start:
                if Self.isWhitespace(byte) { continue }
                guard byte == UInt8(ascii: "[") else {
                    throw .malformed(MalformedJSONError(reason: "expected `[` to open the array of events", offset: offset))
                }
                position = .beforeElement(afterComma: false)
            case .beforeElement(let afterComma):
                if Self.isWhitespace(byte) { continue }
                if byte == UInt8(ascii: "]") {
                    guard !afterComma else {
                        throw .malformed(MalformedJSONError(reason: "a value is missing before `]` (trailing comma)", offset: offset))
                    }
                    position = .finished
                    continue
                }
                if byte == UInt8(ascii: ",") {
                    throw .malformed(MalformedJSONError(reason: "a value is missing before `,`", offset: offset))
                }
                position = .inElement
                element.removeAll(keepingCapacity: true)
                elementStart = offset
                depth = 0
                inString = false
                escaped = false
                try take(byte, onElement)
            case .inElement:
                try take(byte, onElement)
            case .finished:
                guard Self.isWhitespace(byte) else {
                    throw .malformed(MalformedJSONError(reason: "unexpected data after the JSON value", offset: offset))
                }
            }
        }
    }

    /// Checks the array was closed once the body has ended.
    public func finish() throws(MalformedJSONError) {
        switch position {
        case .finished: return
        case .start: throw MalformedJSONError(reason: "the body is empty", offset: offset)
        case .beforeElement, .inElement: throw MalformedJSONError(reason: "the body ends in the middle of an array", offset: offset)
        }
    }

    private mutating func take<E: Error>(_ byte: UInt8, _ onElement: (_ bytes: [UInt8], _ offset: Int) throws(E) -> Void) throws(JSONArraySplitterError<E>) {
        if inString {
            element.append(byte)
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inString = false
            }
            return
        }
        switch byte {
        case UInt8(ascii: "\""):
            inString = true
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            depth += 1
        case UInt8(ascii: "}"):
            // Unbalanced at depth 0: left in the element for the parser to report.
            if depth > 0 { depth -= 1 }
        case UInt8(ascii: "]") where depth > 0:
            depth -= 1
        case UInt8(ascii: ","), UInt8(ascii: "]"):
            // Inside an object or array of the element: part of it.
            guard depth == 0 else { break }
            // At the array's own level: the element ends here.
            while let last = element.last, Self.isWhitespace(last) { element.removeLast() }
            count += 1
            do {
                try onElement(element, elementStart)
            } catch {
                throw .element(error)
            }
            element.removeAll(keepingCapacity: true)
            position = byte == UInt8(ascii: "]") ? .finished : .beforeElement(afterComma: true)
            return
        default:
            break
        }
        element.append(byte)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}

/// Why ``JSONArraySplitter`` stopped: the array is malformed, or the element handler threw.
public enum JSONArraySplitterError<Failure: Error>: Error {
    /// The array itself is not valid JSON.
    case malformed(MalformedJSONError)
    /// The handler refused an element.
    case element(Failure)
}
