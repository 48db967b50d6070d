import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks, before `serve` creates anything, that it will be able to listen where it was asked.
///
/// Why: on a first start `serve` creates the database and prints the one-time API keys; if the
/// port then turned out to be taken, the keys would have been shown to a failing command and
/// never again. A test bind (with `SO_REUSEADDR`, as the server's own socket has, so a port in
/// TIME_WAIT is not mistaken for a busy one) catches the usual causes first: a port in use, a
/// privileged port, an address that is not this machine's.
enum ListeningAddressProbe {
    /// Throws a ``CommandFailure`` saying what is wrong when `host:port` cannot be bound now.
    /// Port 0 (any free port) always can.
    static func check(host: String, port: Int) throws {
        guard port != 0 else { return }
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw CommandFailure("cannot listen on \(host):\(port): \(String(cString: gai_strerror(resolved))). Pass --host with an address of this machine (127.0.0.1, 0.0.0.0).")
        }
        defer { freeaddrinfo(list) }
        let descriptor = socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
        guard descriptor >= 0 else { return }  // no socket to test with: the server will say what is wrong
        defer { close(descriptor) }
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if bind(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0, listen(descriptor, 1) == 0 { return }
        throw failure(errno, host: host, port: port)
    }

    private static func failure(_ code: Int32, host: String, port: Int) -> CommandFailure {
        switch code {
        case EADDRINUSE:
            return CommandFailure("cannot listen on \(host):\(port): the address is already in use. Stop the other server or pass --port.")
        case EACCES:
            return CommandFailure("cannot listen on \(host):\(port): permission denied (ports below 1024 need privileges). Pass --port 8080, or run it with the capability to bind.")
        case EADDRNOTAVAIL:
            return CommandFailure("cannot listen on \(host):\(port): \(host) is not an address of this machine. Pass --host 127.0.0.1 or 0.0.0.0.")
        default:
            return CommandFailure("cannot listen on \(host):\(port): \(String(cString: strerror(code))).")
        }
    }
}
