import AutomationEngine
import Foundation
import HeraldExamples
import HeraldTestSupport
import Hummingbird
import HummingbirdTesting
import SegmentSpec
import Testing

/// The examples the documentation quotes do what it says.
@Suite("Examples: Herald inside another Hummingbird application; SegmentSpec on its own")
struct ExamplesTests {
    @Test("the shop serves its own page and Herald's ingest under /segment; an event posted there is stored and runs its mapping")
    func embeddedIngest() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-example-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try HeraldStore.open(path: directory.appendingPathComponent("herald.sqlite").path)
        let key = try await store.createKey(workspace: "default", scope: .ingest)
        try await store.applyConfiguration(
            yaml: """
                channels: { inbox: { type: inbox } }
                templates: { receipt: { channel: inbox, subject: "Receipt {{data.order_id}}", body: "Thanks, {{profile.firstName}}" } }
                automations: { receipt: { steps: [ { send: { template: receipt } } ] } }
                mappings: [ { on: track/Order Completed, run: receipt } ]
                """, workspace: "default")
        let app = makeShopApplication(store: store, port: 0)
        try await app.test(.live) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(String(buffer: page.body) == "The shop's own page")

            let authorization = "Basic " + Data("\(key.secret.plaintext):".utf8).base64EncodedString()
            let event = #"{"type":"track","event":"Order Completed","userId":"u-1","properties":{"order_id":"o-42"},"messageId":"shop-1"}"#
            let accepted = try await client.execute(
                uri: "/segment/inbound/segment", method: .post, headers: [.authorization: authorization, .contentType: "application/json"],
                body: ByteBuffer(string: event))
            #expect(accepted.status == .ok, "\(String(buffer: accepted.body))")
            // Herald's own paths are not at the root: only where the application mounted them.
            let unmounted = try await client.execute(uri: "/inbound/segment", method: .post, headers: [.authorization: authorization], body: ByteBuffer(string: event))
            #expect(unmounted.status == .notFound)
            let unauthorized = try await client.execute(uri: "/segment/v1/track", method: .post, body: ByteBuffer(string: event))
            #expect(unauthorized.status == .unauthorized)

            #expect(try await store.eventCount() == 1)
            // The engine services run beside the routes: the mapping's message arrives in the inbox.
            var subjects: [String] = []
            for _ in 0..<200 where subjects.isEmpty {
                subjects = try await store.inbox(workspace: "default", user: "u-1").compactMap(\.subject)
                if subjects.isEmpty { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(subjects == ["Receipt o-42"])
        }
    }

    @Test("SegmentSpec alone reads a Webhooks (Actions) array of the Event Tester's events, naming each invalid one")
    func decodeWithSegmentSpecAlone() throws {
        let identify = try FixtureFiles.text("event-tester/identify.json")
        let track = try FixtureFiles.text("event-tester/track.json")
        let invalid = #"{"type":"track","userId":"u-9"}"#  // a track needs an event name
        let lines = try SegmentEventReader.read(Array("[\(identify),\(track),\(invalid)]".utf8))
        #expect(lines.count == 3)
        #expect(lines[0].name == "identify")
        #expect(lines[0].data?.members.isEmpty == false)
        #expect(lines[1].name?.hasPrefix("track/") == true)
        #expect(lines[1].problem == nil)
        #expect(lines[2].name == nil)
        #expect(lines[2].problem?.contains("event") == true)
        #expect(throws: PayloadError.self) { try SegmentEventReader.read(Array("not json".utf8)) }
    }
}
