import Foundation

/// Which destinations a request that a workspace admin configured (a webhook URL today; SMTP
/// hosts and a Segment endpoint later) may connect to.
///
/// Public addresses only, by default: no loopback, private, link-local, shared (CGNAT),
/// unique-local, multicast, reserved or unspecified address, also not in IPv4-mapped, NAT64
/// or 6to4 disguise. Otherwise a workspace admin could reach the server's own API, a cloud
/// metadata service or anything on its network, and read the answers (or "connection
/// refused") in the message history: a port scanner. The operator allows what Herald really
/// must reach inside (a self-hosted mailer) by host name, address or range
/// (`herald serve --allow-destination`).
///
/// The check is on the address a request will connect to, after resolution: see
/// ``OutboundHTTPClient``.
public struct OutboundDestinationPolicy: Sendable, Equatable {
    /// Host names the operator allowed, lowercased, without a trailing dot: a request to one
    /// connects wherever it resolves.
    public private(set) var allowedHosts: Set<String> = []
    /// Address ranges the operator allowed.
    public private(set) var allowedRanges: [IPNetwork] = []

    /// Public addresses only.
    public init() {}

    /// Public addresses, and these host names, addresses and CIDR ranges (IPv4 or IPv6).
    ///
    /// - Throws: ``InvalidDestinationEntry`` for the first entry that is none of them.
    public init(allowing entries: some Sequence<String>) throws(InvalidDestinationEntry) {
        for entry in entries {
            let text = entry.trimmingCharacters(in: .whitespaces)
            if text.contains("://") {
                throw InvalidDestinationEntry(entry: entry, problem: "is a URL; give its host name or address alone")
            }
            guard text.contains(":") || text.contains("/") || IPAddress(text) != nil else {
                allowedHosts.insert(try Self.hostName(entry: entry, text: text))
                continue
            }
            // An IPv6 address has at least two colons; one is a port.
            if text.split(separator: ":", omittingEmptySubsequences: false).count == 2 && !text.contains("/") {
                throw InvalidDestinationEntry(
                    entry: entry, problem: "has a port; give the host alone (every port of an allowed destination is allowed)")
            }
            let range: IPNetwork
            do {
                range = try IPNetwork(parsing: text)
            } catch {
                throw InvalidDestinationEntry(entry: entry, problem: "is not a valid address or range: \(error.problem)")
            }
            // `::ffff:10.0.0.0/104` is `10.0.0.0/8`: a request's address is matched unmapped.
            if let mapped = range.address.mappedIPv4, range.prefixLength >= 96 {
                allowedRanges.append(IPNetwork(mapped, prefixLength: range.prefixLength - 96))
            } else {
                allowedRanges.append(range)
            }
        }
    }

    /// `text` lowercased without a trailing dot, if it is a host name (letters, digits, `-`
    /// and `_` in dot-separated labels of at most 63 characters, 253 in all, not all digits
    /// in its last label, which would be a mistyped IPv4 address).
    private static func hostName(entry: String, text: String) throws(InvalidDestinationEntry) -> String {
        let name = Self.normalized(host: text)
        guard !name.isEmpty else { throw InvalidDestinationEntry(entry: entry, problem: "is empty; give a host name, an address or a CIDR range") }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let isLabel = { (label: Substring) in
            (1...63).contains(label.utf8.count) && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
        guard name.utf8.count <= 253, labels.allSatisfy(isLabel) else {
            throw InvalidDestinationEntry(entry: entry, problem: "is not a host name, an IPv4 or IPv6 address or a CIDR range")
        }
        guard !labels.last!.allSatisfy(\.isNumber) else {
            throw InvalidDestinationEntry(
                entry: entry, problem: "is not an IPv4 address (four numbers from 0 to 255, as in 10.0.0.1) nor a host name")
        }
        return name
    }

    /// A host name as matched against ``allowedHosts``: lowercased, without a trailing dot.
    static func normalized(host: String) -> String {
        var name = host.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// Whether nothing is allowed beyond public addresses.
    public var allowsOnlyPublicAddresses: Bool { allowedHosts.isEmpty && allowedRanges.isEmpty }

    /// What the operator allowed, for the server's start-up lines: `127.0.0.1, mailer.lan`.
    public var allowedDescription: String {
        (allowedHosts.sorted() + allowedRanges.map(\.description)).joined(separator: ", ")
    }

    /// The first of `addresses` (what `host` resolved to, or the address it is) that may not
    /// be connected to, with its kind; nil when every one may. A host name the operator
    /// allowed may connect to any address.
    public func refusal(host: String, addresses: [IPAddress]) -> (address: IPAddress, kind: SpecialAddressKind)? {
        if !allowedHosts.isEmpty, allowedHosts.contains(Self.normalized(host: host)) { return nil }
        for address in addresses {
            guard let kind = address.specialPurpose else { continue }
            let unmapped = address.mappedIPv4 ?? address
            if allowedRanges.contains(where: { $0.contains(unmapped) }) { continue }
            return (address, kind)
        }
        return nil
    }
}

/// Why an `--allow-destination` entry was not understood.
public struct InvalidDestinationEntry: Error, Equatable, CustomStringConvertible {
    /// The entry as given.
    public let entry: String
    /// What is wrong with it, after the quoted entry: "is not ...".
    public let problem: String

    /// "`10.0.0.0/33` is not a valid range: ...".
    public var description: String { "`\(entry)` \(problem)" }
}

/// The special-purpose ranges (IANA's registries) an admin-configured request may not reach
/// unless the operator allows them, by what they are for.
public enum SpecialAddressKind: Sendable, Equatable {
    case unspecified, loopback, privateUse, sharedAddressSpace, linkLocal, uniqueLocal, siteLocal
    case multicast, broadcast, documentation, reserved

    /// "a loopback address", for refusal messages.
    public var phrase: String {
        switch self {
        case .unspecified: "an unspecified address"
        case .loopback: "a loopback address"
        case .privateUse: "a private address"
        case .sharedAddressSpace: "a shared (carrier-grade NAT) address"
        case .linkLocal: "a link-local address"
        case .uniqueLocal: "a unique-local IPv6 address"
        case .siteLocal: "a site-local IPv6 address"
        case .multicast: "a multicast address"
        case .broadcast: "the broadcast address"
        case .documentation: "a documentation address"
        case .reserved: "a reserved address"
        }
    }
}

extension IPAddress {
    /// The special-purpose range the address is in; nil for an ordinary public address.
    /// An IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4) is what that IPv4
    /// address is.
    public var specialPurpose: SpecialAddressKind? {
        if let embedded = embeddedIPv4 { return embedded.specialPurpose }
        return Self.specialRanges.first { $0.range.contains(self) }?.kind
    }

    /// First match wins, so a narrower range comes before the wider one it is in.
    private static let specialRanges: [(range: IPNetwork, kind: SpecialAddressKind)] = [
        ("0.0.0.0/8", .unspecified),  // "this network": Linux connects 0.0.0.0 to the loopback interface
        ("10.0.0.0/8", .privateUse),
        ("100.64.0.0/10", .sharedAddressSpace),
        ("127.0.0.0/8", .loopback),
        ("169.254.0.0/16", .linkLocal),  // cloud metadata services (169.254.169.254)
        ("172.16.0.0/12", .privateUse),
        ("192.0.0.0/24", .reserved),  // IETF protocol assignments
        ("192.0.2.0/24", .documentation),
        ("192.88.99.0/24", .reserved),  // 6to4 relay anycast (deprecated)
        ("192.168.0.0/16", .privateUse),
        ("198.18.0.0/15", .reserved),  // benchmarking
        ("198.51.100.0/24", .documentation),
        ("203.0.113.0/24", .documentation),
        ("224.0.0.0/4", .multicast),
        ("255.255.255.255/32", .broadcast),
        ("240.0.0.0/4", .reserved),
        ("::/128", .unspecified),
        ("::1/128", .loopback),
        ("64:ff9b:1::/48", .privateUse),  // local-use NAT64
        ("::/8", .reserved),  // IPv4-compatible (deprecated) and IPv4-translated addresses; the rest of 64:ff9b::/32
        ("100::/64", .reserved),  // discard-only
        ("2001:db8::/32", .documentation),
        ("2001::/23", .reserved),  // IETF protocol assignments, Teredo
        ("3fff::/20", .documentation),
        ("5f00::/16", .reserved),  // SRv6 SIDs
        ("fc00::/7", .uniqueLocal),
        ("fe80::/10", .linkLocal),
        ("fec0::/10", .siteLocal),
        ("ff00::/8", .multicast),
    ].map { text, kind in (try! IPNetwork(parsing: text), kind) }
}
