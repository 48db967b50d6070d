import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `herald` binary run as a child process, for crash and restart tests.
final class HeraldProcess {
    let process: ChildProcess
    let outputFile: URL
    /// Where the server's standard error (its log) goes.
    let errorFile: URL
    private(set) var port: Int = 0

    /// The `herald` executable next to the test bundle (built by `swift build`).
    static var executable: URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundleDirectory.appendingPathComponent("herald")
    }

    /// Runs `herald <arguments>` to completion and returns its exit code and standard output.
    static func runToCompletion(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = try ChildProcess(executable.path, arguments, standardOutput: .pipe)
        let data = process.standardOutput?.readDataToEndOfFile() ?? Data()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `herald <arguments>` to completion; returns its exit code and standard error.
    static func runToCompletionWithError(_ arguments: [String]) throws -> (status: Int32, errorOutput: String) {
        let process = try ChildProcess(executable.path, arguments, standardError: .pipe)
        let data = process.standardError?.readDataToEndOfFile() ?? Data()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `herald serve` on `database` with a free port and waits until it listens.
    ///
    /// - Parameter openFilesLimit: when set, the server runs under this open-files limit
    ///   (soft and hard), set by `sh`'s `ulimit` so the test process's own limit is untouched.
    init(database: String, extraArguments: [String] = [], environment: [String: String] = [:], openFilesLimit: Int? = nil) throws {
        outputFile = URL(fileURLWithPath: database + ".stdout-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        errorFile = URL(fileURLWithPath: database + ".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let arguments = ["serve", "--db", database, "--port", "0", "--log-level", "warning"] + extraArguments
        let environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let openFilesLimit {
            process = try ChildProcess(
                "/bin/sh", ["-c", "ulimit -n \(openFilesLimit) && exec \"$0\" \"$@\"", Self.executable.path] + arguments,
                environment: environment, standardOutput: .file(outputFile.path), standardError: .file(errorFile.path))
        } else {
            process = try ChildProcess(
                Self.executable.path, arguments, environment: environment, standardOutput: .file(outputFile.path), standardError: .file(errorFile.path))
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let line = lines.first(where: { $0.hasPrefix("Listening on http") }),
                let port = line.split(separator: " ")[2].split(separator: ":").last.flatMap({ Int($0) })
            {
                self.port = port
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.terminate()
        throw HeraldProcessError.didNotStart(output)
    }

    /// Everything the server printed so far.
    var output: String {
        (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
    }

    /// The lines printed so far; with `--log-format json`, each record's `message`.
    var lines: [String] {
        output.split(separator: "\n").map { line in
            guard line.hasPrefix("{"), let record = try? JSONParser.parse(String(line)), let message = record["message"]?.stringValue else {
                return String(line)
            }
            return message
        }
    }

    /// Everything the server logged so far (swift-log writes to standard error).
    var log: String {
        (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
    }

    /// Kills the process with SIGKILL: no chance to flush or clean up.
    func killHard() {
        process.send(SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits; returns the exit status.
    func terminate() -> Int32 {
        signal(SIGTERM)
        return waitForExit()
    }

    /// Sends `signal` without waiting for the process to exit.
    func signal(_ signal: Int32) {
        process.send(signal)
    }

    /// Waits for the process to exit; returns its exit status.
    func waitForExit() -> Int32 {
        process.terminationStatus
    }

    deinit {
        try? FileManager.default.removeItem(at: outputFile)
        try? FileManager.default.removeItem(at: errorFile)
    }
}

enum HeraldProcessError: Error {
    case didNotStart(String)
}
