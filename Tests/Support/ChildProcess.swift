public import Foundation
import Synchronization

#if canImport(Glibc)
public import Glibc
#endif

/// A child process started with `posix_spawn`, for tests that run real programs (herald,
/// chromedriver, aiosmtpd, openssl).
///
/// Not Foundation's `Process`: on Linux its `run()` lists `/proc/self/fd` and copies a fixed
/// 256 bytes from each `dirent`; with the 1,500+ descriptors a parallel test run holds, the last
/// entry can sit at the end of an arena, and the copy read past it (SIGSEGV in `memcpy` under
/// `Process.run()`, two clean-clone CI runs of three). Here the child closes every descriptor
/// above 2 with glibc's `posix_spawn_file_actions_addclosefrom_np`, which reads nothing.
public final class ChildProcess: Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// `/dev/null`.
        case null
        /// This file, created if missing, appended to (a file the parent reads while the child runs).
        case file(String)
        /// A pipe; the parent's end is in ``standardInput`` / ``standardOutput`` / ``standardError``.
        case pipe
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        /// It exited with this status.
        case exit(Int32)
        /// A signal ended it.
        case signal(Int32)
    }

    /// The child's process id.
    public let processIdentifier: pid_t
    /// The program and arguments, for messages.
    public let commandLine: [String]
    /// The writing end of the child's standard input, when it is ``Stream/pipe``.
    public let standardInput: FileHandle?
    /// The reading end of the child's standard output, when it is ``Stream/pipe``.
    public let standardOutput: FileHandle?
    /// The reading end of the child's standard error, when it is ``Stream/pipe``.
    public let standardError: FileHandle?
    private let reaped = Mutex<Termination?>(nil)

    /// Starts `executable` with `arguments`.
    /// - Parameter environment: the child's whole environment; nil: this process's.
    public init(
        _ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
        standardInput: Stream = .null, standardOutput: Stream = .null, standardError: Stream = .null
    ) throws {
        commandLine = [executable] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }

        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        var parentEnds: [FileHandle?] = []
        for (target, stream) in [(Int32(0), standardInput), (1, standardOutput), (2, standardError)] {
            switch stream {
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                parentEnds.append(nil)
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                parentEnds.append(nil)
            case .pipe:
                var fds: [Int32] = [0, 0]
                guard pipe(&fds) == 0 else { throw ChildProcessError.pipe(errno) }
                // Another test's child must not inherit these (its own close-from-3 covers
                // that too; a program spawned by other means would not have it).
                for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                let (childEnd, parentEnd) = target == 0 ? (fds[0], fds[1]) : (fds[1], fds[0])
                childEnds.append(childEnd)
                posix_spawn_file_actions_adddup2(&actions, childEnd, target)  // dup2 clears close-on-exec
                parentEnds.append(FileHandle(fileDescriptor: parentEnd, closeOnDealloc: true))
            }
        }
        try Self.closeInheritedDescriptors(&actions)

        // The child starts with no blocked signals and default handlers, whatever this
        // thread's mask (Dispatch and NIO block some) or this process's dispositions are.
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        sigdelset(&all, SIGKILL)
        sigdelset(&all, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = commandLine.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let environmentLines = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let envp = environmentLines.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw ChildProcessError.spawn(executable, result) }
        processIdentifier = pid
        self.standardInput = parentEnds[0]
        self.standardOutput = parentEnds[1]
        self.standardError = parentEnds[2]
    }

    /// Adds "close every descriptor from 3 up" to `actions`.
    ///
    /// glibc (2.34+) has `posix_spawn_file_actions_addclosefrom_np`, but Swift's Glibc module
    /// does not declare it (it is a GNU extension), so it is looked up by name.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) throws {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            throw ChildProcessError.noCloseFrom
        }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        let result = closeFrom(&actions, 3)
        guard result == 0 else { throw ChildProcessError.spawn("posix_spawn_file_actions_addclosefrom_np", result) }
    }

    /// How the child ended, or nil while it runs (reaps it when it has ended).
    public var termination: Termination? {
        reaped.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            guard waitpid(processIdentifier, &status, WNOHANG) == processIdentifier else { return nil }
            let signal = status & 0x7f
            known = signal == 0 ? .exit((status >> 8) & 0xff) : .signal(signal)
            return known
        }
    }

    /// Whether the child is still running.
    public var isRunning: Bool { termination == nil }

    /// The exit status, or the signal number when a signal ended it (as Foundation's
    /// `terminationStatus`); waits for the end.
    public var terminationStatus: Int32 {
        switch waitUntilExit() {
        case .exit(let status), .signal(let status): status
        }
    }

    /// Blocks this thread until the child ends.
    @discardableResult
    public func waitUntilExit() -> Termination {
        while true {
            if let termination { return termination }
            usleep(5_000)
        }
    }

    /// Waits, without blocking a thread, until the child ends or `timeout` passes.
    public func waitForExit(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let termination { return termination }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return termination
    }

    /// Sends `signal` (if the child still runs).
    public func send(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Sends SIGTERM.
    public func terminate() { send(SIGTERM) }

    deinit {
        // Never leave a child behind, nor a zombie.
        if isRunning {
            kill(processIdentifier, SIGKILL)
            waitUntilExit()
        }
    }
}

/// A child process could not be started.
public enum ChildProcessError: Error, CustomStringConvertible {
    case pipe(Int32)
    case spawn(String, Int32)
    case noCloseFrom

    public var description: String {
        switch self {
        case .pipe(let code): "pipe failed: \(String(cString: strerror(code)))"
        case .spawn(let program, let code): "could not start \(program): \(String(cString: strerror(code)))"
        case .noCloseFrom: "glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)"
        }
    }
}
