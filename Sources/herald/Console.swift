import Foundation

/// Writes whole lines to standard output at once, unbuffered, so a supervisor or a test
/// reading a pipe sees startup lines immediately.
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Writes a line to standard error (problems and what to do about them).
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
