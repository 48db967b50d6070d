#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as a number, so ranges are a mask and a comparison.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)
    case v6(UInt128)

    /// Parses the strict text forms `inet_pton` accepts (`127.0.0.1`, `::1`, `::ffff:10.0.0.1`):
    /// the same forms AsyncHTTPClient connects to as an address instead of resolving as a
    /// name. `127.1`, `0x7f.0.0.1` or `2130706433` are not addresses here; as host names they
    /// go through the resolver, whose answer is what gets checked.
    public init?(_ text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self = .v6(withUnsafeBytes(of: &v6) { Self.number(bigEndianBytes: $0) })
    }

    /// The address of a `sockaddr_in` / `sockaddr_in6` as `getaddrinfo` returns them.
    init?(_ address: UnsafePointer<sockaddr>) {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            self = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { .v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)) }
        case AF_INET6:
            self = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var bytes = v6.pointee.sin6_addr
                return .v6(withUnsafeBytes(of: &bytes) { Self.number(bigEndianBytes: $0) })
            }
        default:
            return nil
        }
    }

    private static func number(bigEndianBytes bytes: UnsafeRawBufferPointer) -> UInt128 {
        bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
    }

    /// Canonical text: dotted quad, or RFC 5952 for IPv6 (`inet_ntop`), which `inet_pton`
    /// (and so AsyncHTTPClient's `dnsOverride`) reads back.
    public var description: String {
        switch self {
        case .v4(let value):
            return [24, 16, 8, 0].map { String(value >> $0 & 0xff) }.joined(separator: ".")
        case .v6(let value):
            var bytes = in6_addr()
            withUnsafeMutableBytes(of: &bytes) { buffer in
                for index in 0..<16 { buffer[index] = UInt8(truncatingIfNeeded: value >> (8 * (15 - index))) }
            }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            _ = inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) stands for: a
    /// dual-stack socket connecting to one reaches that IPv4 address.
    var mappedIPv4: IPAddress? {
        guard case .v6(let value) = self, value >> 32 == 0xffff else { return nil }
        return .v4(UInt32(truncatingIfNeeded: value))
    }

    /// The IPv4 address inside an IPv6 address that is translated or tunnelled to it: mapped
    /// (`::ffff:0:0/96`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`).
    var embeddedIPv4: IPAddress? {
        guard case .v6(let value) = self else { return nil }
        if let mapped = mappedIPv4 { return mapped }
        if value >> 32 == 0x64_ff9b << 64 { return .v4(UInt32(truncatingIfNeeded: value)) }
        if value >> 112 == 0x2002 { return .v4(UInt32(truncatingIfNeeded: value >> 80)) }
        return nil
    }
}

/// A range of addresses in CIDR form (`10.0.0.0/8`, `fd00::/8`); a lone address is a range
/// of one.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the range.
    public let address: IPAddress
    /// How many leading bits every address of the range shares with ``address``.
    public let prefixLength: Int

    /// The range of `prefixLength` leading bits of `address`; those bits past the prefix must be 0.
    init(_ address: IPAddress, prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses `10.0.0.0/8`, `fd00::/8`, or a lone address (`127.0.0.1`, `::1`).
    ///
    /// - Throws: a message saying what is wrong: an address that is not one, a prefix length
    ///   out of range, or bits set past the prefix (`10.0.0.1/8`), which usually means a typo.
    public init(parsing text: String) throws(IPNetworkParseError) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else {
            throw IPNetworkParseError(text: text, problem: "\(parts[0]) is not an IPv4 or IPv6 address")
        }
        let width = address.bitWidth
        guard parts.count == 2 else {
            self.init(address, prefixLength: width)
            return
        }
        let family = width == 32 ? "IPv4" : "IPv6"
        guard !parts[1].isEmpty else {
            throw IPNetworkParseError(text: text, problem: "a range needs its prefix length after the /, from 0 to \(width) for \(family)")
        }
        guard parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]), (0...width).contains(length) else {
            throw IPNetworkParseError(text: text, problem: "the prefix length of an \(family) range is a number from 0 to \(width), not \(parts[1])")
        }
        let network = IPNetwork(address, prefixLength: length)
        guard network.first == address else {
            throw IPNetworkParseError(
                text: text, problem: "\(address) has bits set past the /\(length) prefix; the range is written \(network.first)/\(length)")
        }
        self = network
    }

    /// The lowest address of the range.
    var first: IPAddress {
        switch address {
        case .v4(let value): .v4(value & UInt32.max << (32 - prefixLength))
        case .v6(let value): .v6(value & UInt128.max << (128 - prefixLength))
        }
    }

    /// Whether `other` is in the range (an address of the other family never is).
    public func contains(_ other: IPAddress) -> Bool {
        switch (address, other) {
        case (.v4(let base), .v4(let value)):
            let mask = UInt32.max << (32 - prefixLength)
            return base & mask == value & mask
        case (.v6(let base), .v6(let value)):
            let mask = UInt128.max << (128 - prefixLength)
            return base & mask == value & mask
        default:
            return false
        }
    }

    /// `address/prefixLength`, or the lone address for a range of one.
    public var description: String {
        prefixLength == address.bitWidth ? "\(address)" : "\(address)/\(prefixLength)"
    }
}

/// Why a text is not an address range.
public struct IPNetworkParseError: Error, Equatable, CustomStringConvertible {
    /// The text as given.
    public let text: String
    /// What is wrong with it.
    public let problem: String

    /// "`10.0.0.0/33` is not an address range: ...".
    public var description: String { "`\(text)` is not an address range: \(problem)" }
}

extension IPAddress {
    /// 32 or 128.
    var bitWidth: Int {
        switch self {
        case .v4: 32
        case .v6: 128
        }
    }
}
