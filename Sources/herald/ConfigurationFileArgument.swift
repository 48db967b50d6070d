import ArgumentParser

/// The configuration file a command reads, given as `-f FILE` / `--file FILE` or as the first
/// argument: every command that reads herald.yaml takes both, so `apply -f`, `check -f` and
/// `test -f` work alike and `check FILE` keeps working.
struct ConfigurationFileArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The configuration file (herald.yaml); or give it with -f.", valueName: "file"))
    var positional: String?

    @Option(name: [.customShort("f"), .customLong("file")], help: ArgumentHelp("The configuration file (herald.yaml).", valueName: "file"))
    var option: String?

    func validate() throws {
        switch (positional, option) {
        case (nil, nil): throw ValidationError("give the configuration file: -f herald.yaml (or as the first argument)")
        case (let first?, let second?) where first != second:
            throw ValidationError("two configuration files given (\(first) and -f \(second)); give one")
        default: break
        }
    }

    /// The file's path.
    var path: String { option ?? positional ?? "" }
}
