import AutomationEngine
import Foundation
import SegmentSpec

/// How the page writes times and engine messages for people.
enum WebText {
    /// A time as the page shows it: relative and short ("3 min ago", "yesterday 14:02"), with
    /// the exact time for the `title` (shown on hover) and the machine-readable `datetime`.
    /// Keys: `iso`, `exact`, `human`.
    static func time(_ time: Timestamp, now: Timestamp) -> [String: Any] {
        ["iso": time.iso8601, "exact": exact(time), "human": human(time, now: now)]
    }

    /// `2026-11-24 20:15:03.120 UTC`.
    static func exact(_ time: Timestamp) -> String {
        let iso = time.iso8601  // 2026-11-24T20:15:03.120Z
        return iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }

    /// A short relative time: seconds, minutes and hours ago (or ahead) within a day, then the date.
    static func human(_ time: Timestamp, now: Timestamp) -> String {
        let seconds = (now.millisecondsSince1970 - time.millisecondsSince1970) / 1000
        let ahead = seconds < 0
        let span = abs(seconds)
        let amount: String
        switch span {
        case ..<5: return "just now"
        case ..<60: amount = "\(span) s"
        case ..<3600: amount = "\(span / 60) min"
        case ..<86_400: amount = "\(span / 3600) h \(span % 3600 / 60) min"
        default:
            let iso = time.iso8601  // the date and the minute, UTC
            return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(5)) + " UTC"
        }
        return ahead ? "in \(amount)" : "\(amount) ago"
    }

    /// `text` as HTML, with `code` spans written `like this` in engine messages ("started run 2
    /// of `welcome`") shown as code rather than as literal backticks. Everything is escaped
    /// first, so event data can never add markup.
    static func html(_ text: String) -> String {
        let escaped = escape(text)
        var output = ""
        var inCode = false
        var pending = ""
        for character in escaped {
            if character == "`" {
                if inCode {
                    output += "<code>" + pending + "</code>"
                    pending = ""
                }
                inCode.toggle()
            } else if inCode {
                pending.append(character)
            } else {
                output.append(character)
            }
        }
        // An unmatched backtick stays as it was written.
        return inCode ? output + "`" + pending : output
    }

    /// HTML-escaped text.
    static func escape(_ text: String) -> String {
        HTMLEscaping.escape(text)
    }

    /// A path component (a profile id, a message id) escaped for a link.
    static func path(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    /// The fields of a query string as a browser's GET form sends them (`+` is a space).
    static func formFields(_ query: String?) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            guard let key = parts.first else { continue }
            fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// A query value escaped for a link.
    static func query(_ text: String) -> String {
        path(text)
    }
}
