import Foundation
import HeraldTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real `herald` binary run as a child process, for crash and restart tests.
final class HeraldProcess {
    let process = Process()
    let outputFile: URL
    private(set) var port: Int = 0

    /// The `herald` executable next to the test bundle (built by `swift build`).
    static var executable: URL {
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundleDirectory.appendingPathComponent("herald")
    }

    /// Runs `herald <arguments>` to completion and returns its exit code and standard output.
    static func runToCompletion(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `herald <arguments>` to completion; returns its exit code and standard error.
    static func runToCompletionWithError(_ arguments: [String]) throws -> (status: Int32, errorOutput: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = pipe
        try ProcessLaunch.run(process)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `herald serve` on `database` with a free port and waits until it listens.
    ///
    /// - Parameter openFilesLimit: when set, the server runs under this open-files limit
    ///   (soft and hard), set by `sh`'s `ulimit` so the test process's own limit is untouched.
    init(database: String, extraArguments: [String] = [], environment: [String: String] = [:], openFilesLimit: Int? = nil) throws {
        outputFile = URL(fileURLWithPath: database + ".stdout-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let arguments = ["serve", "--db", database, "--port", "0", "--log-level", "warning"] + extraArguments
        if let openFilesLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(openFilesLimit) && exec \"$0\" \"$@\"", Self.executable.path] + arguments
        } else {
            process.executableURL = Self.executable
            process.arguments = arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Listening on http") }),
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

    /// Kills the process with SIGKILL: no chance to flush or clean up.
    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Sends SIGTERM and waits; returns the exit status.
    func terminate() -> Int32 {
        signal(SIGTERM)
        return waitForExit()
    }

    /// Sends `signal` without waiting for the process to exit.
    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit; returns its exit status.
    func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: outputFile)
    }
}

enum HeraldProcessError: Error {
    case didNotStart(String)
}
