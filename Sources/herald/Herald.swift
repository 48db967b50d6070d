import ArgumentParser

/// The `herald` command: a self-hosted, Courier-style Segment destination.
@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "A self-hosted, Courier-style Segment destination.",
        discussion: """
            Herald receives Segment traffic (identify, track, page, screen, group, alias, delete), \
            stores it durably and runs the notification automations you map to events.

            Example:
              herald serve --port 8080 --db ./herald.sqlite
            """,
        version: HeraldVersion.current,
        subcommands: [
            ServeCommand.self, KeysCommand.self, WorkspacesCommand.self, CheckCommand.self, ApplyCommand.self, TestCommand.self,
            ExportCommand.self, SendTestCommand.self, EventsCommand.self, BackupCommand.self, RestoreCommand.self, PruneCommand.self,
        ]
    )
}
