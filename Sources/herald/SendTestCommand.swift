import ArgumentParser
import Foundation
import SegmentSpec

/// `herald send-test`: Segment's Event Tester, from the command line.
struct SendTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "Send sample identify, track, page, screen and group events, as Segment's Event Tester does, and show how Herald read them.",
        discussion: """
            Each event goes to URL/v1/<type> with the key as the Basic username (as Segment \
            sends it), with a fresh `segment-test-message-...` messageId and the current time. \
            For each, it prints the HTTP status and the server's message. With an admin key \
            (--admin-key, or --key when it is one) it then shows how Herald read the event: its \
            name, data and warnings, and what the engine did (the explain trace).

            Examples:
              herald send-test --url http://127.0.0.1:8080 --key hk_ingest...
              herald send-test --url http://127.0.0.1:8080 --key hk_ingest... --admin-key hk_admin... --type track
            """
    )

    @Option(help: "The Herald server, e.g. http://127.0.0.1:8080.")
    var url: String

    @Option(help: "An ingest (or admin) key of the workspace to send to.")
    var key: String

    @Option(help: "Send only this call: identify, track, page, screen or group.")
    var type: TestEventType?

    @Option(help: "An admin key, to read back how Herald read each event (default: --key, when it is an admin key).")
    var adminKey: String?

    enum TestEventType: String, CaseIterable, ExpressibleByArgument, Sendable {
        case identify, track, page, screen, group
    }

    func run() async throws {
        try await HeraldAPI.using(url: url) { api in try await send(api) }
    }

    private func send(_ api: HeraldAPI) async throws {
        let run = Self.randomToken(6)
        let userId = "test-user-\(run)"
        var readerKey = adminKey
        var probed = adminKey != nil
        var failures = 0
        for eventType in type.map({ [$0] }) ?? TestEventType.allCases {
            let event = Self.event(eventType, userId: userId, run: run)
            let messageId = event["messageId"]!.stringValue!
            let reply = try await api.post("/v1/\(eventType.rawValue)", json: .object(event), auth: .basic(key))
            let message = reply.message.map { ": \($0)" } ?? ""
            Console.line("\(eventType.rawValue) \(messageId) -> HTTP \(reply.status)\(message)")
            guard reply.isSuccess else {
                failures += 1
                if reply.status == 401 { Console.error("  the key was refused; check --key (create one with `herald keys create --scope ingest`)") }
                continue
            }
            if !probed {
                // Is --key itself an admin key? The management API answers 200 for one, 403 for an ingest key.
                probed = true
                let probe = try await api.get("/api/events?limit=1&messageId=\(HeraldAPI.query(messageId))", auth: .bearer(key))
                if probe.status == 200 { readerKey = key }
            }
            guard let readerKey else { continue }
            try await showReading(api: api, messageId: messageId, adminKey: readerKey)
        }
        if readerKey == nil && failures == 0 {
            Console.line("To see how Herald read each event, pass an admin key: --admin-key hk_... (`herald keys create --scope admin`).")
        }
        if failures > 0 {
            throw CommandFailure("\(failures) event(s) were not accepted; see the statuses above")
        }
    }

    /// Polls the event list until the engine has processed the event (up to about 5 s) and
    /// prints how Herald read it and what the explain trace says.
    private func showReading(api: HeraldAPI, messageId: String, adminKey: String) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        var item: JSONValue?
        while true {
            let reply = try await api.get("/api/events?limit=1&messageId=\(HeraldAPI.query(messageId))", auth: .bearer(adminKey))
            guard reply.status == 200 else {
                Console.error("  cannot read the event back: HTTP \(reply.status)\(reply.message.map { ": \($0)" } ?? ""); check --admin-key")
                return
            }
            item = reply.json?["events"]?.arrayValue?.first
            if let explain = item?["explain"], !explain.isNull { break }
            guard ContinuousClock.now < deadline else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        guard let item else {
            Console.line("  not found in the event log after 5 s (was it sent to another workspace than --admin-key's?)")
            return
        }
        Console.line("  read as \(JSONText.plain(item["name"]))")
        Console.line("  data: \(item["data"].map { $0.isNull ? "(none)" : $0.encodedString() } ?? "(none)")")
        let warnings = item["warnings"]?.arrayValue ?? []
        Console.line("  warnings: \(warnings.isEmpty ? "none" : warnings.map(JSONText.plain).joined(separator: "; "))")
        if let explain = item["explain"], !explain.isNull {
            for line in DryRunText.explainLines(explain, indent: "  ") { Console.line(line) }
        } else {
            Console.line("  the engine has not processed it yet (after 5 s); `herald events tail` or GET /api/events shows it later")
        }
    }

    /// An Event Tester-style event of `type` (the shapes of Fixtures/event-tester).
    static func event(_ type: TestEventType, userId: String, run: String) -> JSONObject {
        var event = JSONObject()
        event["messageId"] = .string("segment-test-message-\(randomToken(8))")
        event["timestamp"] = .string(Timestamp(Date()).iso8601)
        event["type"] = .string(type.rawValue)
        event["email"] = "test@example.org"
        if type != .identify { event["projectId"] = "herald-send-test" }
        let properties: JSONValue = ["property1": 1, "property2": "test", "property3": true]
        switch type {
        case .identify:
            event["traits"] = ["trait1": 1, "trait2": "test", "trait3": true, "email": "test@example.org"]
        case .track:
            event["properties"] = properties
            event["event"] = "Segment Test Event Name"
        case .page:
            event["properties"] = properties
            event["name"] = "Segment Test Page Name"
        case .screen:
            event["properties"] = properties
            event["name"] = "Segment Test Screen Name"
        case .group:
            event["groupId"] = .string("test-group-\(run)")
            event["traits"] = ["trait1": 1, "trait2": "test", "trait3": true]
        }
        event["userId"] = .string(userId)
        return event
    }

    /// Lowercase letters and digits, like the Event Tester's ids.
    static func randomToken(_ count: Int) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }
}
