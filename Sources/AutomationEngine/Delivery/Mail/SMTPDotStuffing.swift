import Foundation

/// The data of `DATA` as it goes on the wire (RFC 5321 4.5.2).
public enum SMTPDotStuffing {
    /// `data` with CR LF line ends, every line that starts with `.` given another `.` (so a
    /// line holding a single dot cannot end the message early), ending with CR LF; the
    /// terminating `.` line is not included.
    public static func stuffed(_ data: String) -> String {
        var lines = data.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n") + "\r\n"
    }
}
