import ArgumentParser
import AutomationEngine
import Foundation

/// `herald backup`: a consistent copy of the database while the server runs.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to a new file, consistently, while the server keeps running.",
        discussion: """
            Uses SQLite's online backup: the copy is the database as of one moment (every event \
            acknowledged before the backup started is in it), and ingest goes on meanwhile. The \
            copy is checked, then renamed into place: the file is a whole backup or absent. \
            Restore it with `herald restore`.

            Examples:
              herald backup --to /backups/herald-$(date +%F).sqlite
              herald backup --to /backups/nightly.sqlite --db /var/lib/herald/herald.sqlite
            """
    )

    @Option(help: ArgumentHelp("The backup file to write (must not exist).", valueName: "path"))
    var to: String

    @Option(help: "SQLite database file (default ./herald.sqlite, or HERALD_DB).")
    var db: String?

    func run() async throws {
        let path = DatabasePath.resolve(db ?? ProcessInfo.processInfo.environment["HERALD_DB"])
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("there is no database at \(path): pass the file `herald serve` uses with --db (or set HERALD_DB)")
        }
        let destination = DatabasePath.resolve(to)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let summary = try DatabasePath.open(path).backup(to: destination)
            let elapsed = clock.now - start
            Console.line("Backed up \(path) to \(summary.path): \(summary.events) events, \(ByteCountFormatter.string(fromByteCount: summary.bytes, countStyle: .file)), "
                + "in \(String(format: "%.1f", Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)) s.")
        } catch let error as BackupError {
            throw CommandFailure(error.description)
        }
    }
}
