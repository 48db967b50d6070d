import Foundation
import Mustache
import SegmentSpec
import Yams

/// Reads `herald.yaml` into a validated ``HeraldConfiguration``.
///
/// The whole document is checked before anything is returned: its size, nesting and alias
/// expansion (``ConfigurationBounds``), unknown keys, duplicate names, references to
/// templates, automations and channels that do not exist, condition and Mustache syntax,
/// durations, and `${NAME}` secrets. Every problem is reported with its line and column, all
/// at once.
///
/// `${NAME}` is resolved only in fields that hold a credential: a webhook's `secret`,
/// `segment.write_key`, an smtp channel's `username` and `password` (see
/// ``SecretEnvironment``); in every other field it is literal text.
public enum ConfigurationLoader {
    /// Parses and validates a configuration document.
    /// - Parameters:
    ///   - secrets: where `${NAME}` references of secrets are resolved (scoped to the
    ///     workspace the configuration is for: ``SecretEnvironment/scoped(to:)``).
    ///   - requireSecrets: when false, a secret that cannot be resolved is left as `${NAME}`
    ///     instead of being an error (the engine matches events without delivery secrets).
    public static func load(
        yaml: String, secrets: SecretEnvironment, requireSecrets: Bool = true
    ) throws(ConfigurationError) -> HeraldConfiguration {
        var reader = ConfigurationReader(secrets: secrets, requireSecrets: requireSecrets)
        let configuration = reader.read(yaml)
        guard reader.issues.isEmpty, var configuration else {
            throw ConfigurationError(issues: reader.issues.sorted { ($0.line, $0.column) < ($1.line, $1.column) })
        }
        configuration.warnings = reader.warnings
        configuration.unresolvedSecrets = reader.unresolvedSecrets
        return configuration
    }
}

struct ConfigurationReader {
    let secrets: SecretEnvironment
    let requireSecrets: Bool
    var issues: [ConfigurationIssue] = []
    var warnings: [ConfigurationIssue] = []
    var unresolvedSecrets: [ConfigurationIssue] = []
    /// The names each section defines, read from the file's keys before any definition is
    /// checked: a reference to a definition that has a problem of its own is not reported a
    /// second time as "not defined".
    var declared = Declarations()

    struct Declarations {
        var channels: Set<String> = []
        var templates: Set<String> = []
        var automations: Set<String> = []
        var topics: Set<String> = []
        var segment = false
    }

    /// Longest webhook timeout: a receiver that needs longer should answer at once and work later.
    static let maximumTimeout: Duration = ChannelSettings.maximumTimeout
    /// Most deliveries a channel may have in flight (the delivery service's total is 256).
    static let maximumConcurrency = ChannelSettings.maximumConcurrency

    init(secrets: SecretEnvironment, requireSecrets: Bool) {
        self.secrets = secrets
        self.requireSecrets = requireSecrets
    }

    mutating func issue(_ node: Node?, _ message: String) {
        issues.append(ConfigurationIssue(line: node?.mark?.line ?? 0, column: node?.mark?.column ?? 0, message: message))
    }

    mutating func read(_ yaml: String) -> HeraldConfiguration? {
        if let violation = ConfigurationBounds.violation(in: yaml) {
            issues.append(violation)
            return nil
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            issues.append(contentsOf: Self.issues(from: error, yaml: yaml))
            return nil
        } catch {
            issues.append(ConfigurationIssue(line: 0, column: 0, message: "not YAML: \(error)"))
            return nil
        }
        guard let root else { return HeraldConfiguration(channels: [], templates: [], automations: [], mappings: [], topics: []) }
        guard let top = mapping(root, "the configuration") else { return nil }
        checkKeys(top, allowed: ["topics", "channels", "templates", "automations", "mappings", "segment", "max_event_age", "limits", "timezone"],
                  in: "the configuration")
        func keys(_ section: String) -> Set<String> { Set(top[section]?.mapping?.keys.compactMap(\.string) ?? []) }
        declared = Declarations(
            channels: keys("channels"), templates: keys("templates"), automations: keys("automations"), topics: keys("topics"),
            segment: top["segment"] != nil)
        let topics = named(top["topics"], "topics").compactMap { readTopic(name: $0.name, node: $0.node) }
        let channels = named(top["channels"], "channels").compactMap { readChannel(name: $0.name, node: $0.node) }
        let templates = named(top["templates"], "templates").compactMap { readTemplate(name: $0.name, node: $0.node) }
        let automations = named(top["automations"], "automations").compactMap { readAutomation(name: $0.name, node: $0.node) }
        var mappings: [HeraldConfiguration.Mapping] = []
        if let list = top["mappings"] {
            if let sequence = list.sequence {
                mappings = sequence.compactMap { readMapping($0) }
                checkMappingIds(sequence)
            } else {
                issue(list, "`mappings` must be a list of `- on: <event name>` entries")
            }
        }
        let segment = top["segment"].flatMap { readSegment($0) }
        var maximumEventAge: Duration?
        if let node = top["max_event_age"], let ageText = text(node, "`max_event_age`") {
            if let age = DurationText.parse(ageText), age >= .seconds(60) {
                maximumEventAge = age
            } else {
                issue(node, "`max_event_age` must be a duration of at least a minute, such as `7d` or `12h`")
            }
        }
        let limits = readLimits(top["limits"])
        let timeZone = readTimeZone(top["timezone"])
        let configuration = HeraldConfiguration(
            channels: channels, templates: templates, automations: automations, mappings: mappings, segment: segment, topics: topics,
            maximumEventAge: maximumEventAge, limits: limits, timeZone: timeZone)
        checkReferences(configuration, top: top)
        return configuration
    }

    static func issues(from error: YamlError, yaml: String) -> [ConfigurationIssue] {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return [ConfigurationIssue(line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")]
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams reports the mapping; point at the second occurrence of each key instead.
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            return duplicates.map { key in
                var seen = 0
                for (offset, line) in lines.enumerated() where offset + 1 >= context.mark.line {
                    let indent = line.prefix { $0 == " " }.count
                    let rest = line.dropFirst(indent)
                    guard rest.hasPrefix("\(key):") || rest.hasPrefix("- \(key):") else { continue }
                    seen += 1
                    if seen == 2 {
                        return ConfigurationIssue(line: offset + 1, column: indent + 1, message: "`\(key)` is defined twice in the same mapping")
                    }
                }
                return ConfigurationIssue(line: context.mark.line, column: context.mark.column, message: "`\(key)` is defined twice in the same mapping")
            }
        default:
            return [ConfigurationIssue(line: 0, column: 0, message: "YAML syntax: \(error)")]
        }
    }

    // MARK: Shapes

    mutating func mapping(_ node: Node, _ what: String) -> Node.Mapping? {
        guard let mapping = node.mapping else {
            issue(node, "\(what) must be a mapping of `key: value` lines")
            return nil
        }
        return mapping
    }

    /// Unknown keys are reported; duplicates never get here (the YAML composer refuses them).
    mutating func checkKeys(_ mapping: Node.Mapping, allowed: [String], in what: String) {
        for key in mapping.keys {
            let name = key.string ?? ""
            if !allowed.contains(name) {
                issue(key, "unknown key `\(name)` in \(what); expected one of \(allowed.map { "`\($0)`" }.joined(separator: ", "))")
            }
        }
    }

    /// The entries of a `name: definition` section, in file order.
    mutating func named(_ node: Node?, _ section: String) -> [(name: String, node: Node)] {
        guard let node else { return [] }
        guard let mapping = node.mapping else {
            issue(node, "`\(section)` must map names to definitions")
            return []
        }
        return mapping.map { (name: $0.key.string ?? "", node: $0.value) }
    }

    /// A scalar as text, as written (`${…}` included).
    mutating func text(_ node: Node?, _ what: String) -> String? {
        guard let node else { return nil }
        guard let scalar = node.scalar else {
            issue(node, "\(what) must be a single value")
            return nil
        }
        return scalar.string
    }

    /// A secret's text, with `${NAME}` references resolved from the allowed environment.
    mutating func secret(_ node: Node?, _ what: String) -> String? {
        guard let node, let text = text(node, what) else { return nil }
        return substitute(text, node: node)
    }

    mutating func substitute(_ text: String, node: Node) -> String {
        guard text.contains("${") else { return text }
        var output = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                issue(node, "`${` without a closing `}`")
                return text
            }
            let name = String(rest[open.upperBound..<close])
            switch secrets.lookup(name) {
            case .value(let value):
                output += value
            case .notAllowed where requireSecrets:
                if let workspace = secrets.workspace {
                    issue(node, "`${\(name)}` is not a secret of workspace \(workspace): name it \(SecretEnvironment.namePrefix(for: workspace))… or list \(workspace):\(name) in \(SecretEnvironment.allowListVariable) where the server runs")
                } else {
                    issue(node, "`${\(name)}` cannot be resolved here: secrets are read for a workspace (pass --workspace)")
                }
            case .unset where requireSecrets:
                issue(node, "the secret \(name) is not set in the server's environment")
            case .notAllowed, .unset:
                unresolvedSecrets.append(ConfigurationIssue(line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, message: name))
                output += "${\(name)}"
            }
            rest = rest[rest.index(after: close)...]
        }
        return output + rest
    }

    mutating func condition(_ node: Node?) -> (Condition, String)? {
        guard let node, let source = text(node, "a condition") else { return nil }
        do {
            return (try Condition(parsing: source), source)
        } catch {
            issue(node, line: error.line, column: error.column, "condition: \(error.reason)")
            return nil
        }
    }

    /// A problem at `line` and `column` of the text a scalar holds (a condition, a template),
    /// reported where that is in the file.
    mutating func issue(_ node: Node, line: Int, column: Int, _ message: String) {
        let quoted = node.scalar.map { $0.style == .singleQuoted || $0.style == .doubleQuoted } ?? false
        let fileLine = (node.mark?.line ?? 1) + line - 1
        let fileColumn = line == 1 ? (node.mark?.column ?? 1) + column - 1 + (quoted ? 1 : 0) : column
        issues.append(ConfigurationIssue(line: fileLine, column: fileColumn, message: message))
    }

    mutating func checkTemplate(_ node: Node?, _ text: String?, what: String) {
        guard let node, let text else { return }
        do {
            _ = try TextTemplate(text)
        } catch {
            issue(node, line: error.line, column: error.column, "\(what) is not a valid template: \(error.reason)")
        }
    }

    /// A YAML value as JSON (plain scalars typed by their text, like YAML 1.2's core schema).
    func json(_ node: Node) -> JSONValue {
        switch node {
        case .scalar(let scalar):
            guard scalar.style == .plain || scalar.style == .any else { return .string(scalar.string) }
            if node.null != nil { return .null }
            if let bool = node.bool { return .bool(bool) }
            if let parsed = try? JSONParser.parse(scalar.string), case .number = parsed { return parsed }
            return .string(scalar.string)
        case .mapping(let mapping):
            return .object(JSONObject(members: mapping.map { JSONObject.Member(key: $0.key.string ?? "", value: json($0.value)) }))
        case .sequence(let sequence):
            return .array(sequence.map(json))
        case .alias:
            return .null
        }
    }

    // MARK: Sections

    mutating func readChannel(name: String, node: Node) -> HeraldConfiguration.Channel? {
        guard let fields = mapping(node, "channel `\(name)`") else { return nil }
        let type = text(fields["type"], "`type`")
        checkKeys(
            fields, allowed: type == "smtp" ? ["type", "host", "port", "tls", "username", "password", "from", "reply_to", "timeout", "concurrency", "send_window"]
                : ["type", "url", "secret", "timeout", "concurrency", "tracking", "send_window"], in: "channel `\(name)`")
        let sendWindow = readSendWindow(fields["send_window"], what: "`send_window` of channel `\(name)`")
        if fields["send_window"] != nil && sendWindow == nil { return nil }
        var tracking = false
        if let node = fields["tracking"] {
            guard let value = node.bool else {
                issue(node, "`tracking` is `true` (links and opens of the channel's messages are tracked) or `false`")
                return nil
            }
            tracking = value
        }
        switch type {
        case "smtp":
            var concurrency: Int?
            guard let settings = readSMTP(name: name, node: node, fields: fields), readConcurrency(fields, into: &concurrency) else { return nil }
            return .init(name: name, kind: .smtp(settings), concurrency: concurrency, sendWindow: sendWindow)
        case "webhook":
            if let url = text(fields["url"], "`url`"), url.contains("${") {
                issue(fields["url"], "`${…}` is resolved only in a channel's `secret` (and `segment.write_key`); write the URL itself in `url`")
                return nil
            }
            guard let url = text(fields["url"], "`url`"), let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https" else {
                issue(fields["url"] ?? node, "webhook channel `\(name)` needs `url: https://...`")
                return nil
            }
            var concurrency: Int?
            guard let timeout = timeoutSeconds(fields, default: 10), readConcurrency(fields, into: &concurrency) else { return nil }
            return .init(name: name, kind: .webhook(url: url, secret: secret(fields["secret"], "`secret`"), timeoutSeconds: timeout), concurrency: concurrency,
                         tracking: tracking, sendWindow: sendWindow)
        case "inbox": return .init(name: name, kind: .inbox, tracking: tracking, sendWindow: sendWindow)
        case "log": return .init(name: name, kind: .log, sendWindow: sendWindow)
        case let other:
            issue(fields["type"] ?? node, "channel `\(name)` needs `type: webhook`, `type: smtp`, `type: inbox` or `type: log`" + (other.map { " (not `\($0)`)" } ?? ""))
            return nil
        }
    }

    mutating func readSegment(_ node: Node) -> SegmentDestination? {
        guard let fields = mapping(node, "`segment`") else { return nil }
        checkKeys(fields, allowed: ["write_key", "endpoint", "events"], in: "`segment`")
        guard let writeKey = secret(fields["write_key"], "`write_key`"), !writeKey.isEmpty else {
            issue(fields["write_key"] ?? node, "`segment` needs `write_key: \"${...}\"`, the write key of the Segment source (a secret of the workspace)")
            return nil
        }
        var destination = SegmentDestination(writeKey: writeKey)
        if let endpointNode = fields["endpoint"] {
            guard let endpoint = text(endpointNode, "`endpoint`") else { return nil }
            if endpoint.contains("${") {
                issue(endpointNode, "`${…}` is resolved only in `write_key`; write the URL itself in `endpoint`")
                return nil
            }
            guard let url = URL(string: endpoint), url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false,
                  url.query == nil, url.fragment == nil
            else {
                issue(endpointNode, "`endpoint` is the Tracking API's base URL, such as https://api.segment.io (US), https://events.eu1.segmentapis.com (EU) or another compatible server")
                return nil
            }
            destination.endpoint = endpoint
        }
        if let eventsNode = fields["events"] {
            guard let list = eventsNode.sequence else {
                issue(eventsNode, "`events` is a list of event names, such as [\"Message Sent\", \"Message Clicked\"]")
                return nil
            }
            var events: Set<SegmentSourceEvent> = []
            for item in list {
                guard let name = text(item, "an event name") else { continue }
                guard let event = SegmentSourceEvent(rawValue: name) else {
                    issue(item, "`\(name)` is not an event Herald sends; expected one of \(SegmentSourceEvent.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", "))")
                    continue
                }
                events.insert(event)
            }
            destination.events = events
        }
        return destination
    }

    mutating func readSegmentStep(_ node: Node, automation: String) -> SegmentStepCall? {
        let what = "`segment` of `\(automation)`"
        let usage = "\(what) takes one of `identify: {traits: …}`, `track: <name>` (with `properties: …`), `group: {group_id: …, traits: …}`, or `path: /v1/<type>` with `body: …`"
        guard let fields = node.mapping else {
            issue(node, usage)
            return nil
        }
        checkKeys(fields, allowed: ["identify", "track", "properties", "group", "path", "method", "body"], in: what)
        let kinds = ["identify", "track", "group", "path"].filter { fields[$0] != nil }
        guard kinds.count == 1 else {
            issue(node, usage)
            return nil
        }
        func object(_ node: Node?, _ name: String) -> JSONObject? {
            guard let node else { return JSONObject() }
            guard let value = json(node).objectValue else {
                issue(node, "`\(name)` of \(what) must be a mapping")
                return nil
            }
            return value
        }
        let call: SegmentStepCall
        switch kinds[0] {
        case "identify":
            guard let identify = fields["identify"]?.mapping else {
                issue(fields["identify"], "`identify` takes `{traits: {...}}`")
                return nil
            }
            checkKeys(identify, allowed: ["traits"], in: "`identify` of \(what)")
            guard let traits = object(identify["traits"], "traits") else { return nil }
            call = .identify(traits: traits)
        case "track":
            guard let event = text(fields["track"], "`track`"), !event.isEmpty else { return nil }
            checkTemplate(fields["track"], event, what: "track event name")
            guard let properties = object(fields["properties"], "properties") else { return nil }
            for name in SegmentStepCall.numericProperties {
                if let value = properties[name], value.stringValue.map({ !$0.contains("{{") }) ?? (value.numberValue == nil) {
                    issue(fields["properties"], "`\(name)` is a number (or a template such as \"{{data.\(name)}}\" that renders one)")
                    return nil
                }
            }
            call = .track(event: event, properties: properties)
        case "group":
            guard let group = fields["group"]?.mapping, let groupId = text(group["group_id"], "`group_id`"), !groupId.isEmpty else {
                issue(fields["group"], "`group` takes `{group_id: …, traits: {...}}`")
                return nil
            }
            checkKeys(group, allowed: ["group_id", "traits"], in: "`group` of \(what)")
            guard let traits = object(group["traits"], "traits") else { return nil }
            call = .group(groupId: groupId, traits: traits)
        default:
            let types = ["identify", "track", "page", "screen", "group", "alias"]
            guard let path = text(fields["path"], "`path`"), path.hasPrefix("/v1/"), types.contains(String(path.dropFirst(4))) else {
                issue(fields["path"], "`path` is a Tracking API call: \(types.map { "/v1/\($0)" }.joined(separator: ", "))")
                return nil
            }
            if let method = text(fields["method"], "`method`"), method.uppercased() != "POST" {
                issue(fields["method"], "the Tracking API takes `method: POST` only")
                return nil
            }
            guard let body = object(fields["body"], "body") else { return nil }
            call = .raw(type: String(path.dropFirst(4)), body: body)
        }
        let size = JSONValue.object(call.fields(render: { $0 }, renderText: { $0 }).0).encodedBytes().count
        guard size <= RunWorker.maximumProfileUpdateBytes else {
            issue(node, "\(what) is \(size) bytes as JSON; Segment takes calls of 32 KB at most")
            return nil
        }
        if kinds[0] != "track" && fields["properties"] != nil { issue(fields["properties"], "`properties` goes with `track`") }
        return call
    }

    /// A channel's `timeout:` in seconds (1 s to 60 s), `fallback` when absent; nil after an issue.
    mutating func timeoutSeconds(_ fields: Node.Mapping, default fallback: Int) -> Int? {
        guard let timeoutText = text(fields["timeout"], "`timeout`") else { return fallback }
        guard let duration = DurationText.parse(timeoutText), duration >= .seconds(1), duration <= Self.maximumTimeout else {
            issue(fields["timeout"], "`timeout` must be a duration from `1s` to `60s`, such as `10s`")
            return nil
        }
        return Int(duration.components.seconds)
    }

    /// Reads a channel's `concurrency:` into `value` (left nil when absent: the default);
    /// false after an issue.
    mutating func readConcurrency(_ fields: Node.Mapping, into value: inout Int?) -> Bool {
        guard let node = fields["concurrency"] else { return true }
        guard let number = node.int, (1...Self.maximumConcurrency).contains(number) else {
            issue(node, "`concurrency` is how many deliveries may be in flight to the channel at once: a number from 1 to \(Self.maximumConcurrency)")
            return false
        }
        value = number
        return true
    }

    /// An `smtp` channel's server, sign-in and sender. `${NAME}` is resolved in `username`
    /// and `password` (credentials), as in a webhook's `secret`, and refused elsewhere.
    mutating func readSMTP(name: String, node: Node, fields: Node.Mapping) -> HeraldConfiguration.SMTPSettings? {
        for key in ["host", "port", "tls", "from", "reply_to"] where text(fields[key], "`\(key)`")?.contains("${") == true {
            issue(fields[key], "`${…}` is resolved only in a channel's `secret`, `username` and `password`; write the value itself in `\(key)`")
            return nil
        }
        guard let host = text(fields["host"], "`host`")?.trimmingCharacters(in: .whitespaces), !host.isEmpty, !host.contains(" "), !host.contains("/") else {
            issue(fields["host"] ?? node, "smtp channel `\(name)` needs `host:`, the mail server's host name or address (such as `smtp.example.com`)")
            return nil
        }
        var security = HeraldConfiguration.SMTPSettings.Security.starttls
        if let tlsText = text(fields["tls"], "`tls`") {
            guard let parsed = HeraldConfiguration.SMTPSettings.Security(rawValue: tlsText) else {
                issue(fields["tls"], "`tls` must be `starttls` (the default, port 587), `implicit` (port 465) or `none`")
                return nil
            }
            security = parsed
        }
        var port = security.defaultPort
        if let node = fields["port"] {
            guard let value = node.int, (1...65535).contains(value) else {
                issue(node, "`port` must be a port number from 1 to 65535")
                return nil
            }
            port = value
        }
        guard let from = text(fields["from"], "`from`"), MailAddress.isValid(MailAddress.bare(from)) else {
            issue(fields["from"] ?? node, "smtp channel `\(name)` needs `from:`, an address such as `noreply@example.com` or `Herald <noreply@example.com>`")
            return nil
        }
        let replyTo = text(fields["reply_to"], "`reply_to`")
        if let replyTo, !MailAddress.isValid(MailAddress.bare(replyTo)) {
            issue(fields["reply_to"], "`reply_to` must be an address such as `support@example.com`")
            return nil
        }
        let username = secret(fields["username"], "`username`")
        let password = secret(fields["password"], "`password`")
        if username == nil && password != nil {
            issue(fields["password"], "`password` needs a `username`")
            return nil
        }
        guard let timeout = timeoutSeconds(fields, default: 30) else { return nil }
        return .init(host: host, port: port, security: security, username: username, password: password, from: from, replyTo: replyTo, timeoutSeconds: timeout)
    }

    mutating func readTopic(name: String, node: Node) -> HeraldConfiguration.Topic? {
        guard let fields = mapping(node, "topic `\(name)`") else { return nil }
        checkKeys(fields, allowed: ["label", "default"], in: "topic `\(name)`")
        guard !name.isEmpty, name != "*", name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            issue(node, "topic name `\(name)` may hold only letters, digits, `-`, `_` and `.`")
            return nil
        }
        var status = PreferenceStatus.optIn
        if let text = text(fields["default"], "`default`") {
            guard let parsed = PreferenceStatus(rawValue: text) else {
                issue(fields["default"], "`default` must be `opt_in` (sent unless the recipient opts out) or `opt_out` (sent only to those who opt in)")
                return nil
            }
            status = parsed
        }
        let label = text(fields["label"], "`label`") ?? name
        return .init(name: name, label: label, defaultStatus: status)
    }

    mutating func readTemplate(name: String, node: Node) -> HeraldConfiguration.Template? {
        guard let fields = mapping(node, "template `\(name)`") else { return nil }
        checkKeys(fields, allowed: ["channel", "subject", "body", "html", "topic", "send_window"], in: "template `\(name)`")
        let sendWindow = readSendWindow(fields["send_window"], what: "`send_window` of template `\(name)`")
        if fields["send_window"] != nil && sendWindow == nil { return nil }
        guard let body = text(fields["body"], "`body`") else {
            issue(node, "template `\(name)` needs a `body`")
            return nil
        }
        let subject = text(fields["subject"], "`subject`")
        let html = text(fields["html"], "`html`")
        checkTemplate(fields["body"], body, what: "body of template `\(name)`")
        checkTemplate(fields["subject"], subject, what: "subject of template `\(name)`")
        checkTemplate(fields["html"], html, what: "html of template `\(name)`")
        return .init(
            name: name, channel: text(fields["channel"], "`channel`"), subject: subject, body: body, html: html, topic: text(fields["topic"], "`topic`"),
            sendWindow: sendWindow)
    }

    mutating func readAutomation(name: String, node: Node) -> HeraldConfiguration.Automation? {
        guard let fields = mapping(node, "automation `\(name)`") else { return nil }
        checkKeys(fields, allowed: ["cancellation_token", "topic", "steps", "throttle"], in: "automation `\(name)`")
        let throttle = fields["throttle"].flatMap { readLimit($0, what: "`throttle` of `\(name)`", throttle: true) }
        if fields["throttle"] != nil && throttle == nil { return nil }
        let token = text(fields["cancellation_token"], "`cancellation_token`")
        checkTemplate(fields["cancellation_token"], token, what: "cancellation_token of `\(name)`")
        guard let steps = fields["steps"]?.sequence, !steps.isEmpty else {
            issue(fields["steps"] ?? node, "automation `\(name)` needs `steps:`, a list of at least one step")
            return nil
        }
        var flattened: [(step: HeraldConfiguration.Step, node: Node)] = []
        readSteps(Array(steps), automation: name, branch: nil, into: &flattened)
        return .init(
            name: name, cancellationToken: token, topic: text(fields["topic"], "`topic`"), steps: flattened.map(\.step), throttle: throttle)
    }

    /// Reads `nodes` as steps, appending them to `steps`; a `wait_for`'s `then:` and `timeout:`
    /// steps follow it there, each marked with the branch it belongs to.
    mutating func readSteps(
        _ nodes: [Node], automation: String, branch: HeraldConfiguration.Step.Branch?, into steps: inout [(step: HeraldConfiguration.Step, node: Node)]
    ) {
        for node in nodes {
            guard var step = readStep(node, automation: automation) else { continue }
            step.branch = branch
            let index = steps.count
            steps.append((step, node))
            guard case .waitFor(var wait) = step.action, let fields = node.mapping else {
                if let fields = node.mapping {
                    for key in ["then", "timeout"] where fields[key] != nil {
                        issue(fields[key], "`\(key)` is a branch of a `wait_for` step; this step has none")
                    }
                }
                continue
            }
            if branch != nil {
                issue(node, "a `wait_for` inside the branch of another `wait_for` is not supported; put it after the branches")
                continue
            }
            for (key, onArrival) in [("then", true), ("timeout", false)] {
                guard let list = fields[key] else { continue }
                guard let sequence = list.sequence else {
                    issue(list, "`\(key)` is a list of steps")
                    continue
                }
                let before = steps.count
                readSteps(Array(sequence), automation: automation, branch: .init(waitStep: index, onArrival: onArrival), into: &steps)
                if onArrival { wait.thenSteps = steps.count - before } else { wait.timeoutSteps = steps.count - before }
            }
            steps[index].step.action = .waitFor(wait)
        }
    }

    mutating func readStep(_ node: Node, automation: String) -> HeraldConfiguration.Step? {
        let what = "a step of `\(automation)`"
        guard let fields = mapping(node, what) else { return nil }
        let actions = ["send", "delay", "cancel", "update-profile", "segment", "digest", "wait_for"]
        checkKeys(fields, allowed: ["if", "then", "timeout"] + actions, in: what)
        let present = actions.filter { fields[$0] != nil }
        guard present.count == 1, let kind = present.first, let value = fields[kind] else {
            issue(node, "\(what) needs exactly one of `send`, `delay`, `cancel`, `update-profile`, `segment`, `digest`, `wait_for`" + (present.count > 1 ? " (found \(present.joined(separator: ", ")))" : ""))
            return nil
        }
        let guardCondition = fields["if"].flatMap { condition($0) }?.0
        if fields["if"] != nil && guardCondition == nil { return nil }
        let action: HeraldConfiguration.Step.Action
        switch kind {
        case "send":
            if let template = value.scalar?.string {
                action = .send(template: template, channel: nil, recipient: nil, data: nil)
            } else if let send = value.mapping {
                checkKeys(send, allowed: ["template", "channel", "to", "data"], in: "`send` of `\(automation)`")
                guard let template = text(send["template"], "`template`") else {
                    issue(value, "`send` needs `template: <name>`")
                    return nil
                }
                action = .send(template: template, channel: text(send["channel"], "`channel`"), recipient: text(send["to"], "`to`"),
                               data: send["data"].flatMap { json($0).objectValue })
            } else {
                issue(value, "`send` takes a template name or `{template: ..., channel: ...}`")
                return nil
            }
        case "delay":
            if let until = value.mapping {
                checkKeys(until, allowed: ["until"], in: "`delay` of `\(automation)`")
                guard let path = text(until["until"], "`until`") else {
                    issue(value, "`delay` takes a duration such as `10m` or `until: data.<path>`")
                    return nil
                }
                action = .delayUntil(path: path)
            } else if let textValue = text(value, "`delay`"), let duration = DurationText.parse(textValue) {
                action = .delay(duration)
            } else {
                issue(value, "`delay` takes a duration such as `90s`, `10m`, `2d`, or `until: data.<path>`")
                return nil
            }
        case "segment":
            guard let call = readSegmentStep(value, automation: automation) else { return nil }
            if !declared.segment {
                issue(node, "automation `\(automation)` has a `segment` step, but the configuration has no `segment:` (write key and endpoint)")
            }
            action = .segment(call)
        case "digest":
            guard let settings = readDigest(value, automation: automation) else { return nil }
            action = .digest(settings)
        case "wait_for":
            guard let wait = readWaitFor(value, automation: automation) else { return nil }
            action = .waitFor(wait)
        case "cancel":
            guard let token = text(value, "`cancel`") else { return nil }
            checkTemplate(value, token, what: "cancel token")
            action = .cancel(token: token)
        default:
            guard let patch = json(value).objectValue else {
                issue(value, "`update-profile` takes a mapping of traits to merge")
                return nil
            }
            let size = JSONValue.object(patch).encodedBytes().count
            guard size <= RunWorker.maximumProfileUpdateBytes else {
                issue(value, "`update-profile` is \(size) bytes as JSON; the limit is \(RunWorker.maximumProfileUpdateBytes / 1024) KB")
                return nil
            }
            action = .updateProfile(patch)
        }
        if case .send(let template, let channel, _, _) = action {
            if !declared.templates.contains(template) {
                issue(node, "automation `\(automation)` sends template `\(template)`, which is not defined under `templates`")
            }
            if let channel, !declared.channels.contains(channel) {
                issue(node, "automation `\(automation)` sends on channel `\(channel)`, which is not defined under `channels`")
            }
        }
        return .init(condition: guardCondition, action: action)
    }

    mutating func readMapping(_ node: Node) -> HeraldConfiguration.Mapping? {
        guard let fields = mapping(node, "a mapping") else { return nil }
        checkKeys(fields, allowed: ["id", "on", "when", "once_per", "run", "cancel"], in: "a mapping")
        var id: String?
        if let idNode = fields["id"] {
            guard let text = text(idNode, "`id`"), !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                issue(idNode, "`id` names the mapping for `once_per`; it must not be empty")
                return nil
            }
            id = text
        }
        guard let on = text(fields["on"], "`on`"), !on.isEmpty else {
            issue(node, "a mapping needs `on: <event name>` such as `track/Order Completed` or `identify`")
            return nil
        }
        // Every field is checked even after a problem in another, so that one run of `check`
        // lists them all.
        var valid = true
        var oncePer: HeraldConfiguration.Mapping.OncePer?
        if let scope = text(fields["once_per"], "`once_per`") {
            if let parsed = HeraldConfiguration.Mapping.OncePer(rawValue: scope) {
                oncePer = parsed
            } else {
                issue(fields["once_per"], "`once_per` must be `user` or `group`" + (scope == "users" || scope == "groups" ? " (singular, not `\(scope)`)" : ""))
                valid = false
            }
        }
        let when = condition(fields["when"])
        if fields["when"] != nil && when == nil { valid = false }
        let action: HeraldConfiguration.Mapping.Action
        switch (text(fields["run"], "`run`"), text(fields["cancel"], "`cancel`")) {
        case (let automation?, nil):
            if !declared.automations.contains(automation) {
                issue(fields["run"], "mapping for `\(on)` runs automation `\(automation)`, which is not defined under `automations`")
            }
            action = .run(automation: automation)
        case (nil, let token?):
            checkTemplate(fields["cancel"], token, what: "cancel token")
            action = .cancel(token: token)
        default:
            issue(node, "mapping for `\(on)` needs exactly one of `run: <automation>` or `cancel: <token>`")
            return nil
        }
        if let reason = EventNames.whyNeverMatched(on) {
            let mark = fields["on"]?.mark
            warnings.append(ConfigurationIssue(line: mark?.line ?? 0, column: mark?.column ?? 0, message: reason))
        }
        guard valid else { return nil }
        return .init(id: id, on: on, when: when?.0, whenText: when?.1, oncePer: oncePer, action: action, line: node.mark?.line ?? 0)
    }

    /// Each mapping `id` names one mapping.
    mutating func checkMappingIds(_ nodes: Node.Sequence) {
        var ids: Set<String> = []
        for node in nodes {
            guard let idNode = node.mapping?["id"], let id = idNode.string, !ids.insert(id).inserted else { continue }
            issue(idNode, "mapping id `\(id)` is used by an earlier mapping; each `id` names one mapping")
        }
    }

    // MARK: References

    mutating func checkReferences(_ configuration: HeraldConfiguration, top: Node.Mapping) {
        let channels = declared.channels
        let topics = declared.topics
        let templateNodes = top["templates"]?.mapping
        for template in configuration.templates {
            if let channel = template.channel, !channels.contains(channel) {
                issue(templateNodes?[template.name]?.mapping?["channel"], "template `\(template.name)` uses channel `\(channel)`, which is not defined under `channels`")
            }
            if let topic = template.topic, !topics.contains(topic) {
                issue(templateNodes?[template.name]?.mapping?["topic"], "template `\(template.name)` has topic `\(topic)`, which is not defined under `topics`")
            }
        }
        let automationNodes = top["automations"]?.mapping
        for automation in configuration.automations {
            if let topic = automation.topic, !topics.contains(topic) {
                issue(automationNodes?[automation.name]?.mapping?["topic"], "automation `\(automation.name)` has topic `\(topic)`, which is not defined under `topics`")
            }
        }
        let limitNodes = top["limits"]?.sequence
        for (index, limit) in configuration.limits.enumerated() {
            let node = limitNodes.flatMap { index < $0.count ? $0[index].mapping : nil }
            if let channel = limit.channel, !channels.contains(channel) {
                issue(node?["channel"], "a limit counts sends on channel `\(channel)`, which is not defined under `channels`")
            }
            if let topic = limit.topic, !topics.contains(topic) {
                issue(node?["topic"], "a limit counts sends of topic `\(topic)`, which is not defined under `topics`")
            }
        }
    }
}
