import AutomationEngine
import DestinationServer
import Foundation
import Logging
import Synchronization

/// Writes whole lines to standard output at once, unbuffered, so a supervisor or a test
/// reading a pipe sees startup lines immediately.
///
/// With `--log-format json` every line is a JSON log record instead (``JSONLogHandler``), so
/// a log shipper reading the server's output parses the startup lines like the rest.
enum Console {
    private static let json = Atomic<Bool>(false)

    /// From now on, lines are written as JSON log records.
    static func writeJSON() { json.store(true, ordering: .relaxed) }

    static func line(_ text: String) {
        let line = json.load(ordering: .relaxed) ? JSONLogHandler.line(level: .notice, label: "herald", message: text) : text
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// Prints a configuration's warnings as `file:line:column: warning: …`, like its problems.
    static func configurationWarnings(_ warnings: [ConfigurationIssue], file: String) {
        for warning in warnings { line("\(file):\(warning.line):\(warning.column): warning: \(warning.message)") }
    }

    /// Writes a line to standard error (problems and what to do about them).
    static func error(_ text: String) {
        let line = json.load(ordering: .relaxed) ? JSONLogHandler.line(level: .error, label: "herald", message: text) : text
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
