import ArgumentParser
import Dispatch
import Foundation
import SegmentSpec

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ends the process at once with `status` (from a signal handler).
private func terminateProcess(_ status: Int32) -> Never {
    exit(status)
}

/// `herald events`: the event log of a running server.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Follow the events a running Herald server receives.",
        discussion: """
            Example:
              herald events tail --url http://127.0.0.1:8080 --key hk_admin...
            """,
        subcommands: [Tail.self]
    )

    /// `herald events tail`: prints events as they arrive.
    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tail",
            abstract: "Print each event as it arrives: time, type, name, user, warnings and what the engine did.",
            discussion: """
                Polls the management API (GET /api/events?after=<seq>) and starts with the events \
                that arrive after it started. Each line shows receivedAt, type, name, userId (or \
                anonymousId), the number of warnings and the explain summary; an event is shown \
                once the engine has processed it (or after 3 seconds). --json prints each event as \
                one compact JSON line instead. Runs until Ctrl-C (exit 0), or until --limit events.

                Examples:
                  herald events tail --url http://127.0.0.1:8080 --key hk_admin...
                  herald events tail --url http://127.0.0.1:8080 --key hk_admin... --type track --name "track/Order Completed" --json
                """
        )

        @Option(help: "The Herald server, e.g. http://127.0.0.1:8080.")
        var url: String

        @Option(help: "An admin key of the workspace to follow.")
        var key: String

        @Option(help: "Only events of this call: identify, track, page, screen, group, alias or delete.")
        var type: String?

        @Option(help: "Only events with this name, e.g. \"track/Order Completed\" or \"identify\".")
        var name: String?

        @Option(help: "How often to ask the server: e.g. 1s, 500ms, 2.5s.")
        var interval: String = "1s"

        @Flag(help: "Print each event as one compact JSON line.")
        var json = false

        @Option(help: "Stop after printing this many events.")
        var limit: Int?

        /// How long an event without an explain trace is held back before it is shown anyway.
        static let explainGrace: Duration = .seconds(3)

        func validate() throws {
            guard Self.parseInterval(interval) != nil else {
                throw ValidationError("--interval \(interval) is not a duration; write e.g. 1s, 500ms or 2.5s (from 10ms to 1h)")
            }
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
            if let type, !EventType.allCases.map(\.rawValue).contains(type) {
                throw ValidationError("--type must be one of \(EventType.allCases.map(\.rawValue).joined(separator: ", ")), not \(type)")
            }
        }

        func run() async throws {
            try await HeraldAPI.using(url: url) { api in try await follow(api) }
        }

        private func follow(_ api: HeraldAPI) async throws {
            let pause = Self.parseInterval(interval)!
            // Ctrl-C ends a tail normally.
            signal(SIGINT, SIG_IGN)
            let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            interrupt.setEventHandler { terminateProcess(0) }
            interrupt.resume()
            defer { interrupt.cancel() }

            var filters = ""
            if let type { filters += "&type=\(HeraldAPI.query(type))" }
            if let name { filters += "&name=\(HeraldAPI.query(name))" }
            let newest = try await fetch(api, "/api/events?limit=1")
            var after = newest.first?["seq"]?.numberValue?.int64Value ?? 0
            // Said at once, so a quiet tail is known to be connected and waiting, not stuck.
            let only = [type.map { "type \($0)" }, name.map { "name \($0)" }].compactMap(\.self)
            let start = "Following events of \(api.baseURL)\(only.isEmpty ? "" : " (only \(only.joined(separator: ", ")))"), "
                + (after == 0 ? "none received yet" : "after event #\(after)") + "; Ctrl-C stops."
            if json { Console.error(start) } else { Console.line(start) }
            var printed = 0
            var waitingSince: (seq: Int64, since: ContinuousClock.Instant)?
            while true {
                let events = try await fetch(api, "/api/events?after=\(after)&limit=1000\(filters)")
                for event in events {
                    guard let seq = event["seq"]?.numberValue?.int64Value else { continue }
                    if event["explain"]?.isNull ?? true {
                        // Not processed yet: wait for the engine a little, so the line says what it did.
                        if waitingSince?.seq != seq { waitingSince = (seq, .now) }
                        if ContinuousClock.now - waitingSince!.since < Self.explainGrace { break }
                    }
                    Console.line(json ? event.encodedString() : Self.line(for: event))
                    after = seq
                    printed += 1
                    if let limit, printed >= limit { return }
                }
                try await Task.sleep(for: pause)
            }
        }

        private func fetch(_ api: HeraldAPI, _ path: String) async throws -> [JSONValue] {
            let reply = try await api.get(path, auth: .bearer(key))
            switch reply.status {
            case 200:
                guard let events = reply.json?["events"]?.arrayValue else {
                    throw CommandFailure("\(api.baseURL) answered without an event list; is it a Herald server?")
                }
                return events
            case 401: throw CommandFailure("the key was refused (\(reply.message ?? "401")); check --key")
            case 403: throw CommandFailure("--key is an ingest key; following events needs an admin key (`herald keys create --scope admin`)")
            default: throw CommandFailure("GET \(path) answered HTTP \(reply.status)\(reply.message.map { ": \($0)" } ?? "")")
            }
        }

        /// One event as a line: receivedAt, type, name, user, warnings, explain summary.
        static func line(for event: JSONValue) -> String {
            let user = event["userId"]?.stringValue.map { "userId=\($0)" }
                ?? event["anonymousId"]?.stringValue.map { "anonymousId=\($0)" } ?? "(no user)"
            let warnings = event["warnings"]?.arrayValue?.count ?? 0
            return [
                JSONText.plain(event["receivedAt"]), JSONText.plain(event["type"]), JSONText.plain(event["name"]), user,
                "warnings=\(warnings)", summary(of: event["explain"]),
            ].joined(separator: "  ")
        }

        /// The explain trace in a few words: its summary, else each mapping's result and the effects.
        static func summary(of explain: JSONValue?) -> String {
            guard let explain, !explain.isNull else { return "(not processed yet)" }
            if let summary = explain["summary"]?.stringValue { return summary }
            let results = (explain["mappings"]?.arrayValue ?? []).compactMap { $0["result"]?.stringValue }
            let effects = (explain["effects"]?.arrayValue ?? []).compactMap(\.stringValue)
            let parts = results + effects
            return parts.isEmpty ? "(nothing to explain)" : parts.joined(separator: "; ")
        }

        /// `1s`, `500ms`, `2.5s`, `1m` or a bare number of seconds, from 10 ms to 1 h.
        static func parseInterval(_ text: String) -> Duration? {
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            let units: [(suffix: String, milliseconds: Double)] = [("ms", 1), ("s", 1000), ("m", 60_000)]
            var milliseconds: Double?
            for unit in units where trimmed.hasSuffix(unit.suffix) {
                if let number = Double(trimmed.dropLast(unit.suffix.count)) { milliseconds = number * unit.milliseconds }
                break
            }
            if milliseconds == nil, let number = Double(trimmed) { milliseconds = number * 1000 }
            guard let milliseconds, milliseconds.isFinite, (10...3_600_000).contains(milliseconds) else { return nil }
            return .milliseconds(Int64(milliseconds))
        }
    }
}
