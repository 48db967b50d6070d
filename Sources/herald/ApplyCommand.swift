import ArgumentParser
import AutomationEngine
import Foundation

/// `herald apply -f herald.yaml`: validates a configuration and stores it as a new version.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Validate a configuration file and apply it to a workspace as a new version.",
        discussion: """
            Works whether or not the server is running. Nothing is applied when the file has \
            problems; they are listed with their line and column (as `herald check` does). \
            A file identical to the version in force stores nothing and says "Unchanged".

            Example:
              herald apply -f herald.yaml --workspace default
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var file: String

    @Option(help: "The workspace to configure.")
    var workspace: String = "default"

    @OptionGroup var database: KeysCommand.DatabaseOption

    func run() async throws {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CommandFailure("cannot read \(file); check the path")
        }
        do {
            let applied = try await database.open().applyConfigurationIfChanged(yaml: text, workspace: workspace)
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
    }
}
