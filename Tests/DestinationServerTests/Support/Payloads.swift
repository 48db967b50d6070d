import Foundation
import HeraldTestSupport

/// Event bodies the suites send.
enum Payloads {
    static func track(_ messageId: String = UUID().uuidString, event: String = "Order Completed", userId: String = "user-1") -> String {
        #"{"type":"track","event":"\#(event)","userId":"\#(userId)","messageId":"\#(messageId)","properties":{"revenue":19.99,"currency":"usd"}}"#
    }

    static var eventTesterTrack: String { get throws { try FixtureFiles.text("event-tester/track.json").trimmingCharacters(in: .whitespacesAndNewlines) } }
    static var eventTesterIdentify: String { get throws { try FixtureFiles.text("event-tester/identify.json").trimmingCharacters(in: .whitespacesAndNewlines) } }
}
