import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A listening TCP socket on a loopback address that never answers: it counts the
/// connections made to it, which the kernel completes in its accept queue whether or not
/// anyone accepts them. A destination that must see no connection at all.
final class SilentListener: Sendable {
    let port: Int
    private let descriptor: Int32

    /// Listens on `address` (`127.0.0.1` or `::1`) at a free port.
    init(address: String) throws {
        let isV6 = address.contains(":")
        #if canImport(Glibc)
        let stream = Int32(SOCK_STREAM.rawValue)
        #else
        let stream = SOCK_STREAM
        #endif
        let descriptor = socket(isV6 ? AF_INET6 : AF_INET, stream, 0)
        try #require(descriptor >= 0, "socket: \(String(cString: strerror(errno)))")
        var bound: Int32
        if isV6 {
            var socketAddress = sockaddr_in6()
            socketAddress.sin6_family = sa_family_t(AF_INET6)
            _ = inet_pton(AF_INET6, address, &socketAddress.sin6_addr)
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            _ = inet_pton(AF_INET, address, &socketAddress.sin_addr)
            bound = withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard bound == 0, listen(descriptor, 16) == 0, fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw SilentListenerError.cannotListen(address, reason)
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let networkPort = withUnsafePointer(to: &storage) { pointer in
            isV6
                ? pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port }
                : pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port }
        }
        self.port = Int(UInt16(bigEndian: networkPort))
        self.descriptor = descriptor
    }

    /// Connections made to it since the last call (it accepts and closes them).
    func takeConnections() -> Int {
        var count = 0
        while true {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return count }  // EAGAIN: the queue is empty
            close(connection)
            count += 1
        }
    }

    deinit { close(descriptor) }
}

enum SilentListenerError: Error {
    case cannotListen(String, String)
}
