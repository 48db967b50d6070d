import Foundation
import NIOHTTP1
import SegmentSpec
import Testing

/// What templates write into messages, tokens and profiles, through the real server.
@Suite("Template output: text as written, objects as JSON, tokens that match what a cancel sends")
struct TemplateOutputTests {
    static let configuration = """
        channels:
          inbox: { type: inbox }
        templates:
          note: { channel: inbox, subject: "For {{data.name}}", body: "order={{data.order}} tags={{data.tags}} first={{data.tags.0}}" }
        automations:
          note: { steps: [ { send: note }, { update-profile: { favourite: "{{data.name}}" } } ] }
          later:
            cancellation_token: "tok-{{data.token}}"
            steps: [ { delay: 1d }, { send: note } ]
        mappings:
          - on: track/Note
            run: note
          - on: track/Later
            run: later
        """

    @Test("`&`, `<` and quotes arrive as written in a message and a profile; objects and arrays are JSON")
    func textIsNotHTMLEscaped() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(Self.configuration)
            try await herald.ingest(ManagementPayloads.track(
                "Note", user: "u-1", id: "m-1",
                properties: #"{"name":"Tom & Jerry <\"the\" cat's>","order":{"id":7,"total":10.0},"tags":["a&b","c"]}"#))
            try await herald.waitForEngine()
            var message: JSONValue?
            for _ in 0..<200 {
                message = try await herald.api("/api/inbox/u-1")["messages"]?[0]
                if message != nil { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let inbox = try #require(message)
            #expect(inbox["subject"]?.stringValue == #"For Tom & Jerry <"the" cat's>"#)
            #expect(inbox["body"]?.stringValue == #"order={"id":7,"total":10.0} tags=["a&b","c"] first=a&b"#)
            var favourite: String?
            for _ in 0..<200 {
                favourite = try await herald.api("/api/profiles/u-1")["traits"]?["favourite"]?.stringValue
                if favourite != nil { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(favourite == #"Tom & Jerry <"the" cat's>"#)
        }
    }

    @Test("a token rendered from `A&B` is cancelled by the token `tok-A&B`")
    func tokensMatchTheirText() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(Self.configuration)
            try await herald.ingest(ManagementPayloads.track("Later", user: "u-2", id: "m-2", properties: #"{"token":"A&B"}"#))
            try await herald.waitForEngine()
            let reply = try await herald.request(.POST, "/api/runs/cancel", body: #"{"token":"tok-A&B"}"#, auth: .bearer(herald.adminKey))
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json?["cancelled"]?.arrayValue?.count == 1, "\(reply.body)")
        }
    }

    @Test("a profile update that renders past 32 KB is not written, and the run's history says why")
    func profileUpdatesAreBounded() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration("""
                automations:
                  grow: { steps: [ { update-profile: { a: "{{data.blob}}", b: "{{data.blob}}", small: "{{data.size}}" } } ] }
                mappings:
                  - on: track/Grow
                    run: grow
                """)
            let blob = String(repeating: "x", count: 20_000)
            try await herald.ingest(ManagementPayloads.track("Grow", user: "u-3", id: "m-3", properties: #"{"blob":"\#(blob)","size":1}"#))
            try await herald.waitForEngine()
            var outcome: String?
            for _ in 0..<200 {
                if let run = try await herald.api("/api/runs?userId=u-3")["runs"]?[0]?["id"]?.numberValue?.int64Value {
                    outcome = try await herald.api("/api/runs/\(run)")["steps"]?[0]?["outcome"]?.stringValue
                    if outcome != nil { break }
                }
                try await Task.sleep(for: .milliseconds(25))
            }
            #expect(outcome?.hasPrefix("profile not updated: the rendered update is 400") == true, "\(outcome ?? "no step")")
            #expect(outcome?.hasSuffix("bytes; the limit is 32 KB") == true, "\(outcome ?? "no step")")
            let profile = try await herald.get("/api/profiles/u-3", auth: .bearer(herald.adminKey))
            #expect(profile.json?["traits"]?["a"] == nil, "\(profile.body.prefix(200))")
        }
    }
}
