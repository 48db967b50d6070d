import ArgumentParser
import AutomationEngine
import Foundation
import Logging
import SegmentSpec

/// `herald prune`: removes what retention removes, now (or says what it would).
struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove finished records older than an age (what `serve --retention` does in the background).",
        discussion: """
            Removes processed events with their traces, messages in a final status with their \
            history, ended runs with their steps, and calls Segment refused, in small batches \
            (safe while the server runs). Unprocessed events, queued messages, pending runs and \
            once_per ledgers always stay; deduplication keeps its own keys for the dedup window.

            Examples:
              herald prune --older-than 90d --dry-run
              herald prune --older-than 30d --db /var/lib/herald/herald.sqlite
            """
    )

    @Option(help: ArgumentHelp("Remove what is older than this, e.g. 90d or 12w (an hour at least).", valueName: "duration"))
    var olderThan: String

    @Flag(help: "Only count what would be removed.")
    var dryRun = false

    @Option(help: "SQLite database file (default ./herald.sqlite, or HERALD_DB).")
    var db: String?

    func run() async throws {
        guard let age = DurationText.parse(olderThan), age >= .seconds(3600) else {
            throw ValidationError("--older-than must be a duration of an hour or more, such as 30d or 12w")
        }
        let path = DatabasePath.resolve(db ?? ProcessInfo.processInfo.environment["HERALD_DB"])
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("there is no database at \(path): pass the file `herald serve` uses with --db (or set HERALD_DB)")
        }
        let store = try DatabasePath.open(path)
        let now = Timestamp(Date())
        let cutoff = Timestamp(millisecondsSince1970: now.millisecondsSince1970 - age.wholeMilliseconds)
        var counts: [RetainedRecord: Int] = [:]
        if dryRun {
            for kind in RetainedRecord.allCases { counts[kind] = try await store.countPrunable(kind, olderThan: cutoff) }
        } else {
            let pruner = RetentionPruner(store: store, age: age, logger: Logger(label: "herald.prune", factory: { _ in SwiftLogNoOpLogHandler() }), now: { now })
            counts = try await pruner.pruneOnce()
        }
        Console.line("\(dryRun ? "Would remove" : "Removed") from \(path) what is older than \(olderThan) (before \(cutoff.iso8601)):")
        for kind in RetainedRecord.allCases {
            let count = counts[kind] ?? 0
            Console.line("  \(kind.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(String(count).leftPadded(to: 9))   (\(kind.kept))")
        }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
