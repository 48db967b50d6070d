import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

/// The README's description of what Herald sends to a webhook is true: its signature check
/// accepts Herald's real signature and refuses a forged one.
@Suite("README: the webhook signature check works on Herald's signatures")
struct WebhookDocumentationTests {
    static var readme: String {
        get throws { try String(contentsOf: FixtureFiles.directory.deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8) }
    }

    /// The README's first ```python block.
    static func pythonSnippet() throws -> String {
        let text = try readme
        let start = try #require(text.range(of: "```python\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// Runs the snippet's `verify` on a header and body; returns what it printed.
    static func verify(header: String, body: [UInt8], secret: String) throws -> String {
        let program = try pythonSnippet() + """
            import sys
            print(verify(sys.argv[1].encode(), sys.argv[2], sys.stdin.buffer.read()))

            """
        let child = try ChildProcess("/usr/bin/python3", ["-c", program, secret, header], standardInput: .pipe, standardOutput: .pipe)
        try child.standardInput?.write(contentsOf: body)
        try child.standardInput?.close()
        let output = String(decoding: child.standardOutput?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(child.terminationStatus == 0)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("the README's Python verify() accepts the signature Herald sends and refuses an altered body")
    func pythonSnippetVerifies() throws {
        let message = OutgoingMessage(
            id: "run-12-step-0", workspace: "default", runId: 12, template: "welcome", channel: "email", subject: "Welcome, Ada!",
            body: "Thanks for joining.", recipient: "user-1", profile: JSONObject(), attempt: 1)
        let body = WebhookChannel.payload(of: message).encodedBytes()
        let header = WebhookChannel.signature(body: body, secret: "s3cret", at: Timestamp(Date()))
        #expect(try Self.verify(header: header, body: body, secret: "s3cret") == "True")
        #expect(try Self.verify(header: header, body: body + Array(" ".utf8), secret: "s3cret") == "False")
        #expect(try Self.verify(header: header, body: body, secret: "other") == "False")
    }
}
