import ArgumentParser
import AutomationEngine
import Foundation

/// `herald check`: validates a configuration file without applying it.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file (herald.yaml) without applying it.",
        discussion: """
            Reports every problem with its line and column: unknown keys, undefined templates, \
            automations or channels, condition and template syntax, durations, and unset ${ENV} \
            variables. Exits 0 when the file is valid.

            Example:
              herald check herald.yaml      (or: herald check -f herald.yaml)
            """
    )

    @OptionGroup var configurationFile: ConfigurationFileArgument

    @Option(help: "The workspace it is for: its channel secrets are read from HERALD_SECRET_<WORKSPACE>_… (default: default).")
    var workspace: String = "default"

    func run() throws {
        let file = configurationFile.path
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw CommandFailure("cannot read \(file); check the path")
        }
        do {
            let configuration = try ConfigurationLoader.load(yaml: text, secrets: SecretEnvironment.process().scoped(to: workspace))
            Console.configurationWarnings(configuration.warnings, file: file)
            Console.line("\(file) is valid: \(configuration.channels.count) channels, \(configuration.templates.count) templates, "
                + "\(configuration.automations.count) automations, \(configuration.mappings.count) mappings"
                + (configuration.warnings.isEmpty ? "." : " (\(configuration.warnings.count) warning\(configuration.warnings.count == 1 ? "" : "s") above)."))
        } catch {
            for issue in error.issues { Console.line("\(file):\(issue.line):\(issue.column): \(issue.message)") }
            throw ExitCode(1)
        }
    }
}
