import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bare TCP connection to send bytes an HTTP client library would never send (a body
/// that stops half way) and read what comes back.
///
/// Reads block, so they run on a Dispatch thread, never on Swift's cooperative pool: that pool
/// has a thread per core and also runs the in-process servers the tests talk to, and two
/// reads blocking it once starved every server of the test run until their 60 s timeouts.
struct RawConnection: Sendable {
    private let fd: Int32

    /// - Parameter readTimeout: seconds a read waits for the server before giving up.
    init(port: Int, readTimeout: Int = 60) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw RawConnectionError.failed("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw RawConnectionError.failed("connect") }
        // A server that never answers fails the test instead of hanging it.
        var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends `text`; false when the server no longer takes bytes (never raises SIGPIPE).
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Half-closes (no more bytes from us) and reads until the server closes.
    func finishAndRead() async -> String {
        shutdown(fd, Int32(SHUT_WR))
        return await readUntilClosed()
    }

    /// Runs a blocking read off the cooperative pool.
    private func offPool(_ read: @escaping @Sendable () -> String) async -> String {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: read()) }
        }
    }

    /// One read of what the server sent, without half-closing; empty when it sent nothing
    /// before the read timeout, or closed.
    func readSome() async -> String {
        await offPool { [fd] in Self.readOnce(fd) }
    }

    /// Reads, without half-closing, until the server closes the connection.
    func readUntilClosed() async -> String {
        await offPool { [fd] in Self.readToEnd(fd) }
    }

    private static func readOnce(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        }
    }

    private static func readToEnd(_ fd: Int32) -> String {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output.append(contentsOf: buffer[..<count])
        }
        return String(decoding: output, as: UTF8.self)
    }

    func close() {
        _ = Glibc.close(fd)
    }
}

enum RawConnectionError: Error {
    case failed(String)
}
