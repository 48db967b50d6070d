import AutomationEngine
import Foundation

/// Resolving and opening the `--db` file, shared by every command.
enum DatabasePath {
    /// The absolute path of `path` (default `./herald.sqlite`).
    static func resolve(_ path: String?) -> String {
        let given = path ?? "herald.sqlite"
        if given.hasPrefix("/") { return given }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(given).standardizedFileURL.path
    }

    /// Opens the store of a database that must exist already: commands that only read or
    /// change what a server created (`keys list`, `export`, …) never create an empty one,
    /// which would answer "No keys" about the wrong file.
    static func openExisting(_ path: String) throws -> HeraldStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw CommandFailure("there is no database at \(path): pass the file `herald serve` uses with --db (or set HERALD_DB)")
        }
        return try open(path)
    }

    /// Opens the store, creating the file when new, with an error message that says what to do.
    static func open(_ path: String) throws -> HeraldStore {
        do {
            return try HeraldStore.open(path: path)
        } catch {
            throw CommandFailure("cannot open database \(path): \(error). Check the path and its permissions, or pass --db.")
        }
    }
}

/// A command error printed as is, without a stack of types.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
