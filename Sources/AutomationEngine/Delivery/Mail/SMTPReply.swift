import Foundation

/// One SMTP reply: a three-digit code and its text, possibly over several lines
/// (`250-first`, `250-second`, `250 last`).
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    /// The reply code (220, 250, 354, 451, 550, ...).
    public let code: Int
    /// The text of each line, without the code and its separator.
    public let lines: [String]

    /// A reply of `code` with these lines.
    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// 2xx and 3xx: the command was accepted (or, 354, the server waits for the data).
    public var isPositive: Bool { (200..<400).contains(code) }
    /// 4xx: try again later.
    public var isTransient: Bool { (400..<500).contains(code) }
    /// 5xx: never with the same command.
    public var isPermanent: Bool { code >= 500 }

    /// `550 5.1.1 <ann@example.com>: mailbox unavailable`, lines joined by spaces.
    public var description: String { "\(code) " + lines.joined(separator: " ").trimmingCharacters(in: .whitespaces) }

    /// Reads replies line by line.
    public struct Reader: Sendable {
        private var code: Int?
        private var lines: [String] = []

        /// An empty reader.
        public init() {}

        /// Takes one line (without its line end); returns the reply when it was the last line.
        /// - Throws: ``SMTPProtocolError`` for a line that is not `<3 digits>[ -]<text>`, or
        ///   whose code differs from the reply's earlier lines.
        public mutating func take(_ line: String) throws(SMTPProtocolError) -> SMTPReply? {
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(String(decoding: bytes[0..<3], as: UTF8.self)),
                (200...599).contains(value)
            else { throw SMTPProtocolError("the server sent a line that is not an SMTP reply: \(line.prefix(80))") }
            if let code, code != value { throw SMTPProtocolError("the server changed the reply code within a reply (\(code), then \(value))") }
            code = value
            let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw SMTPProtocolError("the server sent a line that is not an SMTP reply: \(line.prefix(80))")
            }
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            guard separator == UInt8(ascii: " ") else {
                guard lines.count < 100 else { throw SMTPProtocolError("the server sent a reply of more than 100 lines") }
                return nil
            }
            defer { self = Reader() }
            return SMTPReply(code: value, lines: lines)
        }
    }
}

/// The server broke the SMTP protocol (a malformed or oversized reply).
public struct SMTPProtocolError: Error, Hashable, CustomStringConvertible {
    /// What was wrong.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
