public import ArgumentParser
public import AutomationEngine
import SegmentSpec
import Foundation

/// `herald keys`: create, list and revoke API keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys.",
        discussion: """
            A key belongs to one workspace and has a scope: `ingest` (send events) or `admin` \
            (also the management API). Herald stores only a SHA-256 hash of each key. A \
            workspace has at most 100 active keys; revoke one to create another.

            Examples:
              herald keys create --workspace prod --scope ingest
              herald keys list
              herald keys revoke hk_AbCd1234
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct DatabaseOption: ParsableArguments {
        @Option(help: "SQLite database file (default ./herald.sqlite, or HERALD_DB).")
        var db: String?

        /// The database's absolute path.
        var path: String { DatabasePath.resolve(db ?? ProcessInfo.processInfo.environment["HERALD_DB"]) }

        /// Opens the database, creating it when new (commands that create keys or apply a configuration).
        func open() throws -> HeraldStore {
            try DatabasePath.open(path)
        }

        /// Opens the database, which must exist (commands that read or change what is there).
        func openExisting() throws -> HeraldStore {
            try DatabasePath.openExisting(path)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key; the key is printed as the last line of output.",
            discussion: "Example: herald keys create --workspace prod --scope ingest")

        @Option(help: "Workspace the key belongs to; created when new.")
        var workspace: String = "default"

        @Option(help: "ingest or admin.")
        var scope: KeyScope

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let store = try database.open()
            let created: HeraldStore.CreatedKey
            do {
                created = try await store.createKey(workspace: workspace, scope: scope)
            } catch let error as KeyStoreError {
                throw CommandFailure(error.description)
            }
            Console.line("Created \(scope.rawValue) key \(created.record.id) in workspace \(workspace). It is shown only this once:")
            Console.line(created.secret.plaintext)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List keys (ids and scopes only; keys themselves are never shown again).",
            discussion: "Example: herald keys list --workspace prod")

        @Option(help: "Only keys of this workspace.")
        var workspace: String?

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let keys = try await database.openExisting().listKeys(workspace: workspace)
            guard !keys.isEmpty else {
                Console.line("No keys. Create one with: herald keys create --workspace default --scope ingest")
                return
            }
            Console.line("ID            WORKSPACE        SCOPE   CREATED                   STATUS")
            for key in keys {
                let status = key.revokedAt.map { "revoked \($0.iso8601)" } ?? "active"
                Console.line("\(pad(key.id, 13)) \(pad(key.workspaceId, 16)) \(pad(key.scope.rawValue, 7)) \(pad(key.createdAt.iso8601, 25)) \(status)")
            }
        }

        private func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by its id; requests with it get 401 from the next one on.",
            discussion: "Example: herald keys revoke hk_AbCd1234")

        @Argument(help: "The key's id, as `herald keys list` shows it (or the full key).")
        var id: String

        @OptionGroup var database: DatabaseOption

        func run() async throws {
            let keyId = id.count > APIKeySecret.prefix.count + 8 ? APIKeySecret(plaintext: id).visiblePrefix : id
            do {
                let record = try await database.openExisting().revokeKey(id: keyId)
                Console.line("Revoked \(record.scope.rawValue) key \(record.id) of workspace \(record.workspaceId).")
            } catch let error as KeyStoreError {
                throw CommandFailure(error.description)
            }
        }
    }
}

extension KeyScope: ExpressibleByArgument {}
