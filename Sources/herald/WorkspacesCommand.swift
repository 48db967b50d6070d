import ArgumentParser
import AutomationEngine
import Foundation

/// `herald workspaces`: list workspaces and set their ingest rate limit.
struct WorkspacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspaces",
        abstract: "List workspaces and set their ingest rate limits.",
        discussion: """
            Examples:
              herald workspaces list
              herald workspaces rate-limit --workspace prod --events-per-second 500
              herald workspaces rate-limit --workspace prod --off
            """,
        subcommands: [List.self, RateLimit.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workspaces with their rate limits.")

        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() async throws {
            let store = try database.open()
            let limits = try await store.rateLimits()
            for workspace in try await store.workspaceIds() {
                Console.line("\(workspace)\t\(limits[workspace].map { "\($0) events/s" } ?? "no rate limit")")
            }
        }
    }

    struct RateLimit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rate-limit",
            abstract: "Limit a workspace's ingest; past it requests get 429 with Retry-After. A running server applies it within seconds.")

        @Option(help: "The workspace.")
        var workspace: String

        @Option(help: "Events per second allowed (bursts of one second's worth).")
        var eventsPerSecond: Int?

        @Flag(help: "Remove the limit.")
        var off = false

        @OptionGroup var database: KeysCommand.DatabaseOption

        func validate() throws {
            guard off != (eventsPerSecond != nil) else { throw ValidationError("give either --events-per-second N or --off") }
            if let eventsPerSecond, eventsPerSecond < 1 { throw ValidationError("--events-per-second must be at least 1") }
        }

        func run() async throws {
            do {
                try await database.open().setRateLimit(workspace: workspace, eventsPerSecond: off ? nil : eventsPerSecond)
            } catch let error as KeyStoreError {
                throw CommandFailure(error.description)
            }
            Console.line(off ? "Workspace \(workspace) has no rate limit." : "Workspace \(workspace) is limited to \(eventsPerSecond!) events per second.")
        }
    }
}
