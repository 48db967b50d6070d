public import Foundation
public import Logging
import SegmentSpec

/// Writes each log record as one JSON object on one line of standard output, for log
/// shippers (`herald serve --log-format json`):
///
/// ```json
/// {"time":"2026-11-24T20:15:02.118Z","level":"info","label":"herald","message":"POST /inbound/segment 200 812µs","hb.request.id":"5c0f…"}
/// ```
///
/// `time`, `level`, `label` and `message` come first; the logger's metadata follows, each
/// key as a field (a request's lines carry Hummingbird's `hb.request.id`), nested metadata
/// as JSON arrays and objects. A line is written with a single `write`, so lines from
/// different threads never interleave.
public struct JSONLogHandler: LogHandler {
    /// The logger's name (`herald`, `herald.delivery`, …).
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    /// A handler for the logger named `label`; use with `LoggingSystem.bootstrap(JSONLogHandler.init)`.
    public init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        if let error = event.error { merged["error"] = .string("\(error)") }
        let line = Self.line(level: event.level, label: label, message: event.message.description, metadata: merged)
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// One record as a JSON line (without its newline), at the current time.
    public static func line(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata = [:], time: Date = Date()) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("time", .string(timestamp(time))), ("level", .string(level.rawValue)), ("label", .string(label)), ("message", .string(message)),
        ]
        let reserved: Set<String> = ["time", "level", "label", "message"]
        for key in metadata.keys.sorted() where !reserved.contains(key) {
            members.append((key, json(metadata[key]!)))
        }
        return JSONValue.object(JSONObject(members)).encodedString()
    }

    private static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let value): .string(value.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let values): .object(JSONObject(values.keys.sorted().map { ($0, json(values[$0]!)) }))
        }
    }

    /// RFC 3339 in UTC with milliseconds, as log shippers parse it.
    private static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!))
    }
}
