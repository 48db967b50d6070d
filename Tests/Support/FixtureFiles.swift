public import Foundation

/// Locates the repository's `Fixtures/` folder and reads files from it.
public enum FixtureFiles {
    /// `Fixtures/` at the root of the package, found from this source file's path so it
    /// works from `swift test`, benchmarks and any working directory.
    public static let directory: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Support, Tests, package root
        return url.appendingPathComponent("Fixtures", isDirectory: true)
    }()

    /// The bytes of `Fixtures/<path>`.
    public static func data(_ path: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(path))
    }

    /// The text of `Fixtures/<path>`.
    public static func text(_ path: String) throws -> String {
        String(decoding: try data(path), as: UTF8.self)
    }
}
