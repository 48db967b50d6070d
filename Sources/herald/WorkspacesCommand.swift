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
              herald workspaces signing-secret --workspace prod --generate
              herald workspaces signing-secret --workspace prod --generate --require
              herald workspaces signing-secret --workspace prod --off
            """,
        subcommands: [List.self, RateLimit.self, SigningSecret.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workspaces with their rate limits.")

        @OptionGroup var database: KeysCommand.DatabaseOption

        func run() async throws {
            let store = try database.openExisting()
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
                try await database.openExisting().setRateLimit(workspace: workspace, eventsPerSecond: off ? nil : eventsPerSecond)
            } catch let error as KeyStoreError {
                throw CommandFailure(error.description)
            }
            Console.line(off ? "Workspace \(workspace) has no rate limit." : "Workspace \(workspace) is limited to \(eventsPerSecond!) events per second.")
        }
    }

    struct SigningSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "signing-secret",
            abstract: "Give a workspace the Shared Secret Segment signs requests with (X-Signature), or remove it.",
            discussion: """
                Paste the printed secret into the Shared Secret setting of Segment's Webhooks (Actions)
                (or classic Webhooks) destination, and point it at /inbound/segment/<workspace>.
                A request carrying a valid X-Signature is then accepted without an API key; a wrong
                one gets 401. With --require, requests naming the workspace must be signed.
                --secret-stdin reads a secret you chose (at least 16 characters) from standard input.
                A running server applies the change within seconds.
                """)

        @Option(help: "The workspace.")
        var workspace: String

        @Flag(help: "Generate a new random secret and print it.")
        var generate = false

        @Flag(help: "Read the secret from standard input (one line).")
        var secretStdin = false

        @Flag(help: "Refuse requests to this workspace's endpoint that are not signed, even with a key.")
        var require = false

        @Flag(help: "Remove the secret (and the requirement).")
        var off = false

        @OptionGroup var database: KeysCommand.DatabaseOption

        func validate() throws {
            guard [generate, secretStdin, off].filter({ $0 }).count == 1 else {
                throw ValidationError("give one of --generate, --secret-stdin or --off")
            }
            if off && require { throw ValidationError("--require needs a secret; it cannot go with --off") }
        }

        func run() async throws {
            var secret: String?
            if generate { secret = WorkspaceSigningSecret.generate() }
            if secretStdin {
                let line = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: .whitespaces)
                guard line.count >= WorkspaceSigningSecret.minimumLength else {
                    throw CommandFailure("the secret must be at least \(WorkspaceSigningSecret.minimumLength) characters")
                }
                secret = line
            }
            do {
                try await database.openExisting().setSigningSecret(workspace: workspace, secret.map { WorkspaceSigningSecret(secret: $0, required: require) })
            } catch let error as KeyStoreError {
                throw CommandFailure(error.description)
            }
            guard let secret else {
                Console.line("Workspace \(workspace) has no signing secret; X-Signature no longer authenticates its requests.")
                return
            }
            Console.line("Workspace \(workspace) signs with this Shared Secret\(require ? " (signatures required)" : ""). Paste it into Segment; point the destination at /inbound/segment/\(workspace):")
            if generate { Console.line(secret) }
        }
    }
}
