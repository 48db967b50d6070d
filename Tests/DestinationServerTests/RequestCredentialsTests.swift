@testable import DestinationServer
import Foundation
import HTTPTypes
import Testing

@Suite("Authorization header parsing")
struct RequestCredentialsTests {
    private func key(_ header: String?) throws(HeraldHTTPError) -> String? {
        var fields = HTTPFields()
        if let header { fields[.authorization] = header }
        return try RequestCredentials.key(from: fields)
    }

    private func basic(_ credentials: String) -> String { Data(credentials.utf8).base64EncodedString() }

    @Test("Basic with an empty or ignored password, Bearer, any scheme case, extra spaces")
    func accepted() throws {
        #expect(try key(nil) == nil)
        #expect(try key("Basic " + basic("hk_live_abc:")) == "hk_live_abc")
        #expect(try key("Basic " + basic("hk_live_abc:secret:with:colons")) == "hk_live_abc")
        #expect(try key("Basic " + basic("hk_live_abc")) == "hk_live_abc")
        #expect(try key("  bAsIc   " + basic("hk_live_abc:") + "  ") == "hk_live_abc")
        #expect(try key("Bearer hk_live_abc") == "hk_live_abc")
        #expect(try key("bearer    hk_live_abc ") == "hk_live_abc")
        #expect(try key("Basic " + basic("clé:")) == "clé")
    }

    @Test("unreadable headers are refused with a message that says what to send")
    func refused() {
        let cases: [(header: String, message: String)] = [
            ("Basic", "carry no API key"),
            ("Basic   ", "carry no API key"),
            ("Bearer ", "Bearer token is empty"),
            ("   ", "must be `Basic base64(key:)` or `Bearer key`"),
            ("Basic %%%", "not valid base64"),
            ("Basic " + basic(":pw"), "carry no API key"),
            ("Bearer", "Bearer token is empty"),
            ("Token", "must be `Basic base64(key:)` or `Bearer key`"),
            ("Digest abc", "Authorization scheme digest is not supported"),
        ]
        for (header, message) in cases {
            do {
                let found = try key(header)
                Issue.record("\(header) gave key \(String(describing: found))")
            } catch {
                #expect(error.status == .unauthorized, "\(header)")
                #expect(error.message.contains(message), "\(header): \(error.message)")
            }
        }
    }
}
