public import Foundation

/// One email as Herald sends it: RFC 5322 headers (non-ASCII text encoded per RFC 2047),
/// a `multipart/alternative` body with a text part and, when the template has one, an HTML
/// part, and the RFC 8058 one-click unsubscribe headers.
///
/// Everything in it is derived from the stored message, so a retry renders the same bytes
/// (the same `Message-ID` and `Date`): a receiver that saw the first attempt sees the same
/// message again, never a second one.
public struct MailMessage: Sendable, Hashable {
    /// `From:` as configured (`Herald <noreply@example.com>` or a bare address).
    public var from: String
    /// The recipient's address.
    public var to: String
    /// `Reply-To:`, when the channel sets one.
    public var replyTo: String?
    /// The subject, any Unicode.
    public var subject: String
    /// The text part.
    public var text: String
    /// The HTML part, when the template has one.
    public var html: String?
    /// The whole `Message-ID` value, angle brackets included.
    public var messageID: String
    /// When the message was written (its `Date:`).
    public var date: Date
    /// The one-click unsubscribe URL (`List-Unsubscribe`), when there is one.
    public var unsubscribeURL: String?

    /// A message of these parts.
    public init(
        from: String, to: String, replyTo: String? = nil, subject: String, text: String, html: String? = nil, messageID: String, date: Date,
        unsubscribeURL: String? = nil
    ) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
        self.unsubscribeURL = unsubscribeURL
    }

    /// `<herald.<workspace>.<message id>@<domain>>`: derived from the stable message id, so
    /// every attempt of a message carries the same one. Characters an id may not hold become `-`.
    public static func messageID(messageId: String, workspace: String, domain: String) -> String {
        let safe = { (text: String) in
            String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_+=".contains($0)) ? $0 : "-" })
        }
        let host = domain.isEmpty ? "herald.invalid" : domain
        return "<herald.\(safe(workspace)).\(safe(messageId))@\(host)>"
    }

    /// The domain of an address (`example.com` of `Ann <ann@example.com>`), empty without one.
    public static func domain(of address: String) -> String {
        let bare = MailAddress.bare(address)
        guard let at = bare.lastIndex(of: "@") else { return "" }
        return String(bare[bare.index(after: at)...])
    }

    /// The message as sent after `DATA` (before dot-stuffing): CRLF line ends, 7-bit only.
    ///
    /// - Parameter boundary: the multipart boundary; derived from the message id by default,
    ///   so that the bytes of every attempt are the same.
    public func rendered(boundary: String? = nil) -> String {
        var headers: [(String, String)] = [
            ("From", MailHeader.encodeAddress(from)),
            ("To", MailHeader.encodeAddress(to)),
        ]
        if let replyTo { headers.append(("Reply-To", MailHeader.encodeAddress(replyTo))) }
        headers.append(("Subject", MailHeader.encodeText(subject)))
        headers.append(("Date", MailHeader.date(date)))
        headers.append(("Message-ID", messageID))
        headers.append(("MIME-Version", "1.0"))
        if let unsubscribeURL {
            headers.append(("List-Unsubscribe", "<\(unsubscribeURL)>"))
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        }
        var lines: [String] = []
        let textPart = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "base64")]
        if let html {
            let boundary = boundary ?? "herald-" + MailHeader.hexDigest(messageID)
            headers.append(("Content-Type", "multipart/alternative; boundary=\"\(boundary)\""))
            lines += headers.map { MailHeader.fold("\($0.0): \($0.1)") }
            lines.append("")
            lines.append("This is a multi-part message in MIME format.")
            for (part, body) in [(textPart, text), ([("Content-Type", "text/html; charset=utf-8"), ("Content-Transfer-Encoding", "base64")], html)] {
                lines.append("--\(boundary)")
                lines += part.map { "\($0.0): \($0.1)" }
                lines.append("")
                lines += Self.base64Lines(body)
            }
            lines.append("--\(boundary)--")
        } else {
            headers += textPart
            lines += headers.map { MailHeader.fold("\($0.0): \($0.1)") }
            lines.append("")
            lines += Self.base64Lines(text)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A body as base64 in lines of 76 characters (RFC 2045), its line ends made CRLF first.
    static func base64Lines(_ body: String) -> [String] {
        let normalized = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let encoded = Data(normalized.utf8).base64EncodedString()
        var lines: [String] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(String(encoded[index..<end]))
            index = end
        }
        return lines
    }
}

/// Addresses as SMTP's envelope needs them.
public enum MailAddress {
    /// The address alone: `ann@example.com` of `Ann <ann@example.com>`.
    public static func bare(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    /// Whether `text` is one plausible mailbox (`local@domain`, no spaces, no line breaks,
    /// no angle brackets): what Herald will put in `RCPT TO`.
    public static func isValid(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            text.utf8.count <= 254
        else { return false }
        return !text.contains { $0.isWhitespace || "<>()[],;:\\\"".contains($0) || $0.asciiValue.map { $0 < 32 || $0 == 127 } ?? false }
    }
}

/// Header encoding: RFC 2047 encoded-words for non-ASCII text, RFC 5322 folding and dates.
enum MailHeader {
    /// ASCII text as it is; anything else as `=?UTF-8?B?...?=` words of at most 75 characters
    /// (whole characters per word, so no word splits a UTF-8 sequence), separated by folding
    /// white space.
    static func encodeText(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.allSatisfy({ $0.isASCII }) { return clean }
        // 75 - "=?UTF-8?B?".count - "?=".count = 63 base64 characters: 45 bytes of UTF-8.
        var words: [[UInt8]] = []
        var chunk: [UInt8] = []
        for character in clean {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > 45 {
                words.append(chunk)
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// An address with its display name encoded when it is not ASCII: `=?UTF-8?B?...?= <ann@example.com>`.
    static func encodeAddress(_ text: String) -> String {
        let clean = text.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
        guard let open = clean.lastIndex(of: "<") else { return clean }
        let name = clean[..<open].trimmingCharacters(in: .whitespaces)
        let address = clean[open...]
        guard !name.isEmpty else { return String(address) }
        if name.allSatisfy({ $0.isASCII }) { return "\(name) \(address)" }
        var unquoted = name
        if unquoted.hasPrefix("\""), unquoted.hasSuffix("\""), unquoted.count >= 2 { unquoted = String(unquoted.dropFirst().dropLast()) }
        return "\(encodeText(unquoted)) \(address)"
    }

    /// Folds a header line longer than 78 characters at spaces (encoded words are already
    /// separated by folding white space).
    static func fold(_ line: String) -> String {
        guard line.count > 78, !line.contains("\r\n") else { return line }
        var output = ""
        var current = ""
        for (index, word) in line.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
            // Never right after the header's name: a long URL then stays on the name's line.
            if index > 1, !current.isEmpty, current.count + 1 + word.count > 78 {
                output += current + "\r\n"
                current = " " + word
            } else {
                current += (current.isEmpty ? "" : " ") + word
            }
        }
        return output + current
    }

    /// RFC 5322 date in UTC: `Tue, 24 Nov 2026 16:20:33 +0000`.
    static func date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// A short hex digest of `text` (FNV-1a, 64 bits): a boundary that is the same for every
    /// attempt of a message and cannot occur in base64 bodies (which hold no `-`).
    static func hexDigest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
