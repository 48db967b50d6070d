#if canImport(Glibc)
import Glibc
#endif

/// The process's limit on open files, which caps the connections the server can hold.
///
/// Every connection is a file descriptor, and so are the database, its log, and what the
/// runtime opens. When a flood of connections took the last one, the process died (libdispatch
/// traps when it cannot get one). So `serve` raises the soft limit to the hard one, as many
/// servers do, and accepts connections only up to the limit less a reserve.
enum OpenFilesLimit {
    /// Descriptors kept for everything but client connections: SQLite's files and reader
    /// connections, the runtime, logs, outgoing webhook connections.
    static let reserved = 256
    /// Most connections accepted however high the limit: beyond this many, more would only
    /// queue for CPU on a small machine.
    static let connectionCeiling = 10_000

    /// Raises the soft limit to the hard one (at most 65,536) and returns the soft limit in force.
    static func raise() -> Int {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let wanted = min(limit.rlim_max, 65_536)
        if limit.rlim_cur < wanted {
            var raised = limit
            raised.rlim_cur = wanted
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
        #else
        return 1024
        #endif
    }

    /// Connections to accept at once under an open-files limit of `limit`.
    static func connections(forLimit limit: Int) -> Int {
        max(16, min(connectionCeiling, limit - reserved))
    }
}
