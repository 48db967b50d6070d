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

    /// Opens the store, with an error message that says what to do.
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
