import AutomationEngine
import Testing

@Suite("Outbound destinations: which addresses are internal, and the operator's allow-list")
struct OutboundDestinationPolicyTests {
    @Test("special-purpose ranges, IPv4 and IPv6, and IPv6 forms that carry an IPv4 address", arguments: [
        ("127.0.0.1", .loopback), ("127.255.255.254", .loopback), ("10.1.2.3", .privateUse), ("172.16.0.1", .privateUse),
        ("172.31.255.255", .privateUse), ("192.168.1.1", .privateUse), ("169.254.169.254", .linkLocal), ("100.64.0.1", .sharedAddressSpace),
        ("100.127.255.255", .sharedAddressSpace), ("0.0.0.0", .unspecified), ("0.1.2.3", .unspecified), ("224.0.0.251", .multicast),
        ("239.255.255.250", .multicast), ("255.255.255.255", .broadcast), ("240.0.0.1", .reserved), ("192.0.0.8", .reserved),
        ("192.0.2.10", .documentation), ("198.51.100.1", .documentation), ("203.0.113.9", .documentation), ("198.18.0.1", .reserved),
        ("::", .unspecified), ("::1", .loopback), ("fe80::1", .linkLocal), ("febf:ffff::1", .linkLocal), ("fc00::1", .uniqueLocal),
        ("fd12:3456::1", .uniqueLocal), ("fec0::1", .siteLocal), ("ff02::1", .multicast), ("2001:db8::1", .documentation),
        ("2001::1", .reserved), ("100::1", .reserved), ("::127.0.0.1", .reserved), ("64:ff9b:1::a00:1", .privateUse),
        ("::ffff:127.0.0.1", .loopback), ("::ffff:7f00:1", .loopback), ("::ffff:10.0.0.1", .privateUse),
        ("::ffff:169.254.169.254", .linkLocal), ("64:ff9b::7f00:1", .loopback), ("64:ff9b::a9fe:a9fe", .linkLocal),
        ("2002:7f00:1::1", .loopback), ("2002:a00:1::", .privateUse),
    ] as [(String, SpecialAddressKind)])
    func specialPurpose(text: String, kind: SpecialAddressKind) throws {
        #expect(try #require(IPAddress(text)).specialPurpose == kind)
    }

    @Test("public addresses next to the special ranges are not special", arguments: [
        "8.8.8.8", "1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
        "169.253.255.255", "172.15.255.255", "172.32.0.0", "192.167.255.255", "192.169.0.0", "223.255.255.255",
        "2606:4700:4700::1111", "2a00:1450:4001:82b::200e", "fbff::1", "fe7f::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
    ])
    func publicAddress(text: String) throws {
        #expect(try #require(IPAddress(text)).specialPurpose == nil)
    }

    @Test("only strict address text is an address; other spellings are host names for the resolver", arguments: [
        "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.0.0.1.", "[::1]", "fe80::1%eth0", "localhost", "",
    ])
    func notAnAddress(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("addresses print in canonical form")
    func canonicalText() throws {
        #expect(try #require(IPAddress("2001:DB8:0:0:0:0:0:1")).description == "2001:db8::1")
        #expect(try #require(IPAddress("::ffff:7f00:1")).description == "::ffff:127.0.0.1")
        #expect(try #require(IPAddress("10.0.0.255")).description == "10.0.0.255")
    }

    @Test("with no allow-list, any internal address of a host refuses it, the first one named")
    func defaultRefusesAnyInternal() throws {
        let policy = OutboundDestinationPolicy()
        let ip = { (text: String) in IPAddress(text)! }
        #expect(policy.refusal(host: "example.com", addresses: [ip("93.184.216.34"), ip("2606:2800:220:1::")]) == nil)
        #expect(policy.refusal(host: "example.com", addresses: [ip("93.184.216.34"), ip("10.0.0.1")])?.address == ip("10.0.0.1"))
        #expect(policy.refusal(host: "localhost", addresses: [ip("127.0.0.1"), ip("::1")])?.kind == .loopback)
    }

    @Test("allow-list entries: an address, a range (v4, v6, IPv4-mapped), or a host name whatever it resolves to", arguments: [
        // entry, host, address, allowed
        ("127.0.0.1", "127.0.0.1", "127.0.0.1", true),
        ("127.0.0.1", "localhost", "127.0.0.1", true),
        ("127.0.0.1", "::ffff:127.0.0.1", "::ffff:127.0.0.1", true),
        ("127.0.0.1", "127.0.0.2", "127.0.0.2", false),
        ("10.0.0.0/8", "mailer", "10.255.0.1", true),
        ("10.0.0.0/8", "mailer", "192.168.0.1", false),
        ("::ffff:10.0.0.0/104", "mailer", "10.1.1.1", true),
        ("fd00::/8", "mailer", "fd12::1", true),
        ("fd00::/8", "mailer", "fc00::1", false),
        ("::1", "::1", "::1", true),
        ("::1", "127.0.0.1", "127.0.0.1", false),
        ("0.0.0.0/0", "anything", "192.168.1.1", true),
        ("Mailer.LAN.", "mailer.lan", "10.0.0.5", true),
        ("mailer.lan", "MAILER.lan.", "fd00::5", true),
        ("mailer.lan", "other.lan", "10.0.0.5", false),
        ("mail_relay-2.corp", "mail_relay-2.corp", "172.20.0.2", true),
    ])
    func allowList(entry: String, host: String, address: String, allowed: Bool) throws {
        let policy = try OutboundDestinationPolicy(allowing: [entry])
        #expect(OutboundDestinationPolicy().refusal(host: host, addresses: [try #require(IPAddress(address))]) != nil)
        #expect((policy.refusal(host: host, addresses: [try #require(IPAddress(address))]) == nil) == allowed)
    }

    @Test("the allow-list as the start-up line shows it")
    func allowedDescription() throws {
        let policy = try OutboundDestinationPolicy(allowing: ["Mailer.lan", " 10.0.0.0/8", "::1", "::ffff:192.168.0.0/112"])
        #expect(policy.allowedDescription == "mailer.lan, 10.0.0.0/8, ::1, 192.168.0.0/16")
        #expect(!policy.allowsOnlyPublicAddresses)
        #expect(try OutboundDestinationPolicy(allowing: []).allowsOnlyPublicAddresses)
    }

    @Test("an entry that is not a host name, address or range is refused with what is wrong with it", arguments: [
        ("10.0.0.0/33", "`10.0.0.0/33` is not a valid address or range: the prefix length of an IPv4 range is a number from 0 to 32, not 33"),
        ("fd00::/129", "`fd00::/129` is not a valid address or range: the prefix length of an IPv6 range is a number from 0 to 128, not 129"),
        ("10.0.0.0/-1", "`10.0.0.0/-1` is not a valid address or range: the prefix length of an IPv4 range is a number from 0 to 32, not -1"),
        ("10.0.0.0/", "`10.0.0.0/` is not a valid address or range: a range needs its prefix length after the /, from 0 to 32 for IPv4"),
        ("10.0.0.1/8", "`10.0.0.1/8` is not a valid address or range: 10.0.0.1 has bits set past the /8 prefix; the range is written 10.0.0.0/8"),
        ("fd00::1/8", "`fd00::1/8` is not a valid address or range: fd00::1 has bits set past the /8 prefix; the range is written fd00::/8"),
        ("10.0.0/8", "`10.0.0/8` is not a valid address or range: 10.0.0 is not an IPv4 or IPv6 address"),
        ("10.0.0.256", "`10.0.0.256` is not an IPv4 address (four numbers from 0 to 255, as in 10.0.0.1) nor a host name"),
        ("https://mailer.lan/send", "`https://mailer.lan/send` is a URL; give its host name or address alone"),
        ("mailer.lan:25", "`mailer.lan:25` has a port; give the host alone (every port of an allowed destination is allowed)"),
        ("mail server", "`mail server` is not a host name, an IPv4 or IPv6 address or a CIDR range"),
        ("", "`` is empty; give a host name, an address or a CIDR range"),
    ])
    func badEntry(entry: String, message: String) {
        #expect(throws: InvalidDestinationEntry.self) { try OutboundDestinationPolicy(allowing: ["127.0.0.1", entry]) }
        do {
            _ = try OutboundDestinationPolicy(allowing: [entry])
        } catch {
            #expect(error.description == message)
        }
    }
}
