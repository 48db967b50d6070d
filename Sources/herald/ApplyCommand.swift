import ArgumentParser
import AutomationEngine
import Foundation
import SegmentSpec

/// `herald apply -f herald.yaml`: validates a configuration and stores it as a new version,
/// in the database file or through the running server.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Validate a configuration file and apply it to a workspace as a new version.",
        discussion: """
            Nothing is applied when the file has problems; they are listed with their line and \
            column (as `herald check` does). A file identical to the version in force stores \
            nothing and says "Unchanged".

            `${NAME}` secrets are resolved by the server, from the server's environment, when it \
            delivers. With --url and --key the file goes through the running server \
            (PUT /api/config), which refuses it when a secret is missing from its environment and \
            names it. Without them the file is written to the database (the server need not run), \
            secrets this shell does not have are listed as notes, and the server names any that \
            are missing from its own environment when it loads the version (in its log) and \
            when it starts.

            Examples:
              herald apply -f herald.yaml --workspace default
              herald apply -f herald.yaml --url http://127.0.0.1:8080 --key $ADMIN
            """
    )

    @OptionGroup var configurationFile: ConfigurationFileArgument

    @Option(help: "The workspace to configure (with --db; through the server it is the admin key's workspace).")
    var workspace: String = "default"

    @Option(help: "Apply through the running server at this URL (with --key), which checks the secrets against its own environment.")
    var url: String?

    @Option(help: "An admin key of the workspace (with --url).")
    var key: String?

    @OptionGroup var database: KeysCommand.DatabaseOption

    func validate() throws {
        if (url == nil) != (key == nil) { throw ValidationError("--url and --key go together: the server's address and an admin key") }
        if url != nil && database.db != nil { throw ValidationError("give --url and --key (through the server) or --db (the database file), not both") }
    }

    func run() async throws {
        let file = configurationFile.path
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CommandFailure("cannot read \(file); check the path")
        }
        if let url, let key {
            try await applyThroughServer(text, file: file, url: url, key: key)
            return
        }
        let secrets = SecretEnvironment.process()
        let configuration: HeraldConfiguration
        do {
            configuration = try ConfigurationLoader.load(yaml: text, secrets: secrets.scoped(to: workspace), requireSecrets: false)
            let applied = try await database.open().applyConfigurationIfChanged(yaml: text, workspace: workspace, secrets: secrets, requireSecrets: false)
            Console.configurationWarnings(configuration.warnings, file: file)
            if applied.isUnchanged {
                Console.line("Unchanged: \(file) is version \(applied.version.version) of workspace \(workspace), already in force; nothing was stored.")
            } else {
                Console.line("Applied \(file) to workspace \(workspace) as version \(applied.version.version).")
            }
        } catch let error as ConfigurationError {
            for issue in error.issues { Console.line("\(file):\(issue.line):\(issue.column): \(issue.message)") }
            throw ExitCode(1)
        } catch let error as KeyStoreError {
            throw CommandFailure(error.description)
        }
        for secret in configuration.unresolvedSecrets {
            Console.error("""
                note: \(file):\(secret.line):\(secret.column): ${\(secret.message)} is not set in this shell. The server reads it from its own \
                environment when it delivers: start it with \(secret.message) set (it names missing secrets when it starts), or apply with \
                --url and --key to have the running server check.
                """)
        }
    }

    /// `PUT /api/config`: the server validates the file, secrets included, in its own environment.
    private func applyThroughServer(_ text: String, file: String, url: String, key: String) async throws {
        let reply = try await HeraldAPI.using(url: url) { api in try await api.put("/api/config", text: text, auth: .bearer(key)) }
        switch reply.status {
        case 200, 201:
            let version = reply.json?["version"]?.numberValue.map { "\($0)" } ?? "?"
            for warning in reply.json?["warnings"]?.arrayValue ?? [] {
                Console.line("\(file):\(warning["line"]?.numberValue.map { "\($0)" } ?? "0"):\(warning["column"]?.numberValue.map { "\($0)" } ?? "0"): warning: \(warning["message"]?.stringValue ?? "")")
            }
            Console.line(reply.status == 200
                ? "Unchanged: \(file) is version \(version) in force on \(url); nothing was stored."
                : "Applied \(file) through \(url) as version \(version).")
        case 422:
            for issue in reply.json?["issues"]?.arrayValue ?? [] {
                Console.line("\(file):\(issue["line"]?.numberValue.map { "\($0)" } ?? "0"):\(issue["column"]?.numberValue.map { "\($0)" } ?? "0"): \(issue["message"]?.stringValue ?? "")")
            }
            throw ExitCode(1)
        case 401, 403:
            throw CommandFailure("\(url) refused the key (\(reply.status)): \(reply.message ?? "an admin key is needed"). Pass an admin key with --key.")
        default:
            throw CommandFailure("\(url) answered \(reply.status): \(reply.message ?? reply.body)")
        }
    }
}
