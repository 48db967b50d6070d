import AutomationEngine
import Foundation
import NIOHTTP1
import SegmentSpec
import Testing

/// Configurations are parsed once per version per process; a dry run's draft never leaks
/// into that cache.
@Suite("Configuration cache: one parse per version, never a dry run's draft")
struct ConfigurationCacheTests {
    @Test("a draft tried as the next version, then a different configuration applied as that version: events follow the applied one")
    func draftNeverCached() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(ManagementPayloads.configuration)
            let order = ManagementPayloads.track("Order Completed", user: "u-1", id: "o-1", properties: #"{"order_id":"o-1","revenue":5}"#)
            // The draft would refuse the order (revenue > 100); it is evaluated as version 2 and rolled back.
            let draft = ManagementPayloads.configuration.replacingOccurrences(of: "data.revenue > 0", with: "data.revenue > 100")
            let body = JSONValue.object(JSONObject([(key: "event", value: try JSONParser.parse(order)), (key: "config", value: .string(draft))])).encodedString()
            let tried = try await herald.request(.POST, "/api/test", body: body, auth: .bearer(herald.adminKey))
            #expect(tried.json?["runs"] == [], "\(tried.body)")
            // The real version 2 accepts any revenue.
            try await herald.applyConfiguration(ManagementPayloads.configuration.replacingOccurrences(of: "data.revenue > 0", with: "data.revenue >= 0"))
            try await herald.ingest(order)
            try await herald.waitForEngine()
            let seq = try #require(try await herald.store.events(workspace: "default", messageId: "o-1").first?.seq)
            let trace = try #require(try await herald.store.trace(seq: seq))
            #expect(trace["mappings"]?[0]?["result"]?.stringValue?.hasPrefix("started run") == true, "\(trace)")
        }
    }
}
