import HeraldTestSupport

/// The fixture payloads the suites share.
enum FixtureText {
    static var eventTesterTrack: String { get throws { try FixtureFiles.text("event-tester/track.json") } }
    static var eventTesterIdentify: String { get throws { try FixtureFiles.text("event-tester/identify.json") } }
    static func spec(_ call: String) throws -> String { try FixtureFiles.text("spec/\(call).json") }
}
