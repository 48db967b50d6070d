import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("Configuration: `segment:` (the workspace as a Segment source), its write key a secret of the workspace")
struct SegmentSourceConfigurationTests {
    static let environment = SecretEnvironment(variables: [
        "HERALD_SECRET_PROD_SEGMENT": "wk_prod", "HERALD_SECRET_STAGING_SEGMENT": "wk_staging", "SHARED_SEGMENT": "wk_shared",
    ], allowedNames: ["staging:SHARED_SEGMENT"])

    @Test("write key, endpoint and events are read; the write key from the workspace's own secrets")
    func reads() throws {
        let yaml = """
            segment:
              write_key: "${HERALD_SECRET_PROD_SEGMENT}"
              endpoint: https://events.eu1.segmentapis.com
              events: ["Message Sent", "Message Clicked"]
            """
        let segment = try #require(try ConfigurationLoader.load(yaml: yaml, secrets: Self.environment.scoped(to: "prod")).segment)
        #expect(segment.writeKey == "wk_prod")
        #expect(segment.endpoint == "https://events.eu1.segmentapis.com")
        #expect(segment.events == [.messageSent, .messageClicked])
        let defaults = try #require(try ConfigurationLoader.load(yaml: "segment: { write_key: \"${HERALD_SECRET_PROD_SEGMENT}\" }", secrets: Self.environment.scoped(to: "prod")).segment)
        #expect(defaults.endpoint == "https://api.segment.io")
        #expect(defaults.events == Set(SegmentSourceEvent.allCases))
        // An allow-listed name works for its workspace only.
        let shared = try ConfigurationLoader.load(yaml: "segment: { write_key: \"${SHARED_SEGMENT}\" }", secrets: Self.environment.scoped(to: "staging"))
        #expect(shared.segment?.writeKey == "wk_shared")
    }

    @Test("a workspace cannot read another workspace's write key, nor a variable it was not given", arguments: [
        ("prod", "${HERALD_SECRET_STAGING_SEGMENT}"), ("prod", "${SHARED_SEGMENT}"), ("staging", "${HERALD_SECRET_PROD_SEGMENT}"), ("prod", "${HOME}"),
    ])
    func otherWorkspacesSecrets(workspace: String, reference: String) {
        let yaml = "segment: { write_key: \"\(reference)\" }"
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: Self.environment.scoped(to: workspace))
            Issue.record("workspace \(workspace) read \(reference)")
        } catch {
            let text = "\(error)"
            #expect(text.contains("is not a secret of workspace \(workspace)"), "\(text)")
            #expect(!text.contains("wk_"))
        }
        // Not resolved at all when secrets are not required (the engine's matching): left as written.
        let lenient = try? ConfigurationLoader.load(yaml: yaml, secrets: Self.environment.scoped(to: workspace), requireSecrets: false)
        #expect(lenient?.segment?.writeKey == reference)
        #expect(lenient?.segment?.writeKeyIsUnresolved == true)
    }

    @Test("mistakes in `segment:` are reported at their line", arguments: [
        ("segment: { endpoint: https://api.segment.io }\n", "`segment` needs `write_key"),
        ("segment: { write_key: k, endpoint: \"https://x.example/${HERALD_SECRET_PROD_SEGMENT}\" }\n", "`${…}` is resolved only in `write_key`"),
        ("segment: { write_key: k, endpoint: ftp://x.example }\n", "`endpoint` is the Tracking API's base URL"),
        ("segment: { write_key: k, events: [\"Message Bounced\"] }\n", "`Message Bounced` is not an event Herald sends"),
        ("segment: { write_key: k, region: eu }\n", "unknown key `region` in `segment`"),
    ])
    func mistakes(yaml: String, message: String) {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: Self.environment.scoped(to: "prod"))
            Issue.record("accepted: \(yaml)")
        } catch {
            let text = "\(error)"
            #expect(text.contains(message), "\(text)")
            #expect(error.issues.first?.line == 1)
        }
    }
}
