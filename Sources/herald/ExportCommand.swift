import ArgumentParser
import AutomationEngine
import Foundation
import SegmentSpec
import SegmentSpec

/// `herald export`: prints a workspace's current configuration.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Print a workspace's current configuration (the YAML last applied), or write it to a file.",
        discussion: """
            The text is exactly what was applied, comments and ${ENV} references included \
            (secrets are not expanded). Apply it elsewhere with `herald apply -f`.

            Examples:
              herald export > herald.yaml
              herald export --workspace prod -o prod.yaml --db /var/lib/herald/herald.sqlite
            """
    )

    @Option(help: "The workspace.")
    var workspace: String = "default"

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.")
    var output: String?

    @Option(help: "SQLite database file (default ./herald.sqlite, or HERALD_DB).")
    var db: String?

    func run() async throws {
        let path = DatabasePath.resolve(db ?? ProcessInfo.processInfo.environment["HERALD_DB"])
        guard let version = try await DatabasePath.openExisting(path).currentConfiguration(workspace: workspace) else {
            throw CommandFailure("workspace \(workspace) has no configuration in \(path); apply one with `herald apply -f herald.yaml --workspace \(workspace)`")
        }
        if let output {
            do {
                try version.yaml.write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw CommandFailure("cannot write \(output): \(error.localizedDescription); check the path and its permissions")
            }
            Console.error("Wrote version \(version.version) of workspace \(workspace) (applied \(version.appliedAt.iso8601)) to \(output).")
        } else {
            FileHandle.standardOutput.write(Data((version.yaml.hasSuffix("\n") ? version.yaml : version.yaml + "\n").utf8))
        }
    }
}
