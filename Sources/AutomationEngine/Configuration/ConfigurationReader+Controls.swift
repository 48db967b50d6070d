import Foundation
import Yams

/// Reading the notification controls of `herald.yaml`: `digest` and `wait_for` steps,
/// `limits:` and `throttle:` caps, `send_window:` and the workspace's `timezone:`.
extension ConfigurationReader {
    /// A duration of at least `minimum`; nil after an issue.
    mutating func duration(_ node: Node?, _ what: String, minimum: Duration = .seconds(1), example: String) -> Duration? {
        guard let node else { return nil }
        guard let written = text(node, what), let value = DurationText.parse(written), value >= minimum else {
            issue(node, "\(what) must be a duration of at least \(DurationText.describe(milliseconds: minimum.wholeMilliseconds)), such as `\(example)`")
            return nil
        }
        return value
    }

    /// A `digest:` step's settings.
    mutating func readDigest(_ node: Node, automation: String) -> DigestSettings? {
        let what = "`digest` of `\(automation)`"
        guard let fields = node.mapping else {
            issue(node, "\(what) takes `{ window: 10m, key: \"{{data.thread_id}}\", max_items: 50 }`")
            return nil
        }
        checkKeys(fields, allowed: ["window", "schedule", "key", "max_items"], in: what)
        guard (fields["window"] == nil) != (fields["schedule"] == nil) else {
            issue(node, "\(what) needs either `window:`, how long a digest collects after its first event (such as `10m`), or `schedule: \"daily at 09:00\"`")
            return nil
        }
        var window: Duration?
        var dailyAt: Int?
        if let scheduleNode = fields["schedule"] {
            guard let written = text(scheduleNode, "`schedule`"), let minute = DigestSettings.dailyMinute(written) else {
                issue(scheduleNode, "`schedule` is `daily at HH:MM`, a local time of the recipient's day (such as \"daily at 09:00\")")
                return nil
            }
            dailyAt = minute
        } else {
            guard let read = duration(fields["window"], "`window`", example: "10m") else { return nil }
            window = read
        }
        let key = text(fields["key"], "`key`")
        checkTemplate(fields["key"], key, what: "digest key")
        var maxItems = DigestSettings.maximumItems
        if let node = fields["max_items"] {
            guard let value = node.int, (1...DigestSettings.maximumItems).contains(value) else {
                issue(node, "`max_items` is how many events close a digest early: a number from 1 to \(DigestSettings.maximumItems)")
                return nil
            }
            maxItems = value
        }
        return DigestSettings(window: window, key: key, maxItems: maxItems, dailyAtMinute: dailyAt)
    }

    /// A `wait_for:` step's settings (its branches are read by the caller).
    mutating func readWaitFor(_ node: Node, automation: String) -> WaitForEvent? {
        let what = "`wait_for` of `\(automation)`"
        guard let fields = node.mapping else {
            issue(node, "\(what) takes `{ event: \"track/Order Paid\", within: 2d, match: \"data.order_id == run.data.order_id\" }`")
            return nil
        }
        checkKeys(fields, allowed: ["event", "within", "match"], in: what)
        guard let event = text(fields["event"], "`event`"), !event.isEmpty else {
            issue(fields["event"] ?? node, "\(what) needs `event:`, the Courier name of the awaited event (such as `track/Order Paid`)")
            return nil
        }
        guard fields["within"] != nil else {
            issue(node, "\(what) needs `within:`, how long the run waits (such as `2d`)")
            return nil
        }
        guard let within = duration(fields["within"], "`within`", example: "2d") else { return nil }
        var matchText: String?
        if let matchNode = fields["match"], let source = text(matchNode, "`match`") {
            do {
                _ = try Condition(parsing: source, roots: ConditionRoots.waitMatch)
                matchText = source
            } catch {
                issue(matchNode, line: error.line, column: error.column, "match: \(error.reason)")
                return nil
            }
        }
        return WaitForEvent(event: event, within: within, matchText: matchText)
    }

    /// A cap: an entry of `limits:` (`channel`, `topic`) or an automation's `throttle:` (`key`).
    mutating func readLimit(_ node: Node, what: String, throttle: Bool) -> FrequencyLimit? {
        guard let fields = node.mapping else {
            issue(node, throttle ? "\(what) takes `{ max: 1, per: 1h, key: … }`" : "\(what) takes `{ channel: email, max: 3, per: 1d }`")
            return nil
        }
        checkKeys(fields, allowed: throttle ? ["max", "per", "key", "over_limit"] : ["channel", "topic", "max", "per", "over_limit"], in: what)
        guard let maxNode = fields["max"], let max = maxNode.int, max >= 1 else {
            issue(fields["max"] ?? node, "\(what) needs `max:`, how many sends to one recipient are allowed per window (1 or more)")
            return nil
        }
        guard fields["per"] != nil else {
            issue(node, "\(what) needs `per:`, the window the sends are counted over (such as `1d`)")
            return nil
        }
        guard let per = duration(fields["per"], "`per`", example: "1d") else { return nil }
        var overLimit = FrequencyLimit.OverLimit.skip
        if let node = fields["over_limit"] {
            guard let written = text(node, "`over_limit`"), let parsed = FrequencyLimit.OverLimit(rawValue: written) else {
                issue(node, "`over_limit` is `skip` (the message is written skipped, the default) or `defer` (sent when the cap allows)")
                return nil
            }
            overLimit = parsed
        }
        let key = throttle ? text(fields["key"], "`key`") : nil
        checkTemplate(fields["key"], key, what: "throttle key")
        return FrequencyLimit(
            channel: throttle ? nil : text(fields["channel"], "`channel`"), topic: throttle ? nil : text(fields["topic"], "`topic`"), max: max, per: per,
            overLimit: overLimit, key: key)
    }

    /// `limits:`, a list of caps.
    mutating func readLimits(_ node: Node?) -> [FrequencyLimit] {
        guard let node else { return [] }
        guard let list = node.sequence else {
            issue(node, "`limits` is a list of caps such as `- { channel: email, max: 3, per: 1d }`")
            return []
        }
        return list.compactMap { readLimit($0, what: "a limit", throttle: false) }
    }

    /// A `send_window:`.
    mutating func readSendWindow(_ node: Node?, what: String) -> SendWindow? {
        guard let node else { return nil }
        let usage = "\(what) takes `{ days: [mon-fri], from: \"08:00\", to: \"20:00\" }` (local times of the recipient's time zone)"
        guard let fields = node.mapping else {
            issue(node, usage)
            return nil
        }
        checkKeys(fields, allowed: ["days", "from", "to"], in: what)
        var weekdays = Set(1...7)
        if let daysNode = fields["days"] {
            let entries = daysNode.sequence?.compactMap { $0.scalar?.string } ?? daysNode.scalar.map { [$0.string] }
            guard let entries, !entries.isEmpty else {
                issue(daysNode, "`days` is a list of days or ranges, such as [mon-fri] or [sat, sun]")
                return nil
            }
            let read = SendWindow.weekdays(entries)
            if let bad = read.invalid {
                issue(daysNode, "`\(bad)` is not a day or a range of days: use mon, tue, wed, thu, fri, sat, sun, or a range such as mon-fri")
                return nil
            }
            weekdays = read.days
        }
        guard let fromText = text(fields["from"], "`from`"), let from = SendWindow.minute(fromText) else {
            issue(fields["from"] ?? node, "\(what) needs `from: \"HH:MM\"`, the local time it opens (such as \"08:00\")")
            return nil
        }
        guard let toText = text(fields["to"], "`to`"), let to = SendWindow.minute(toText) else {
            issue(fields["to"] ?? node, "\(what) needs `to: \"HH:MM\"`, the local time it closes (such as \"20:00\")")
            return nil
        }
        guard to > from else {
            issue(fields["to"], "`to` (\(toText)) must be later than `from` (\(fromText)) on the same day")
            return nil
        }
        return SendWindow(weekdays: weekdays, fromMinute: from, toMinute: to)
    }

    /// `timezone:`, an IANA time zone name.
    mutating func readTimeZone(_ node: Node?) -> String? {
        guard let node, let name = text(node, "`timezone`") else { return nil }
        guard TimeZone(identifier: name) != nil else {
            issue(node, "`timezone` must be an IANA time zone name such as `Europe/Paris` or `America/New_York` (not `\(name)`)")
            return nil
        }
        return name
    }
}
