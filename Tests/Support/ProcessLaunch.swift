public import Foundation

/// Starts child processes one at a time.
///
/// swift-corelibs-foundation's `Process.run()` crashed in `memcpy` inside the launch when
/// several test suites started processes (herald, chromedriver, aiosmtpd, openssl) at the same
/// moment on a clean-clone CI run; launching is not safe to overlap there. Only the launch is
/// serialised: the processes themselves run side by side.
public enum ProcessLaunch {
    private static let lock = NSLock()

    /// Runs `process`, never while another test is launching one.
    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
