import ArgumentParser
import AutomationEngine
import Foundation

/// `herald restore`: puts a backup in place of the database.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the database with a backup made by `herald backup`.",
        discussion: """
            Stop the server first: a running one keeps what it had cached. The backup is \
            checked before anything is written, then copied in with SQLite's backup API and \
            migrated to this version of Herald. An existing database is replaced only with --force.

            Examples:
              herald restore --from /backups/herald-2026-11-24.sqlite --db /var/lib/herald/herald.sqlite --force
              herald restore --from nightly.sqlite --db ./fresh.sqlite
            """
    )

    @Option(help: ArgumentHelp("The backup file.", valueName: "path"))
    var from: String

    @Option(help: "SQLite database file to restore into (default ./herald.sqlite, or HERALD_DB).")
    var db: String?

    @Flag(help: "Replace the database if it exists.")
    var force = false

    func run() async throws {
        let target = DatabasePath.resolve(db ?? ProcessInfo.processInfo.environment["HERALD_DB"])
        do {
            let summary = try HeraldStore.restore(from: DatabasePath.resolve(from), to: target, replacing: force)
            Console.line("Restored \(summary.path) (\(summary.events) events) into \(target). Start the server on it: herald serve --db \(target)")
        } catch let error as BackupError {
            throw CommandFailure(error.description)
        }
    }
}
