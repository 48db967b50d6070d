// The libyaml that Yams itself builds on: its event parser is iterative, so a document can be
// measured with it before Yams composes (recursively) and hashes (deeply) its nodes.
internal import CYaml
import SegmentSpec

/// The limits a configuration document must stay within before it is composed, and the
/// check that enforces them in one pass over libyaml's events.
///
/// Each limit stops an attack a workspace admin could make on the whole server:
/// - size: a configuration is text a person writes, not a data store;
/// - nesting: Yams composes nodes recursively, and 100,000 nested `[` overflow the stack;
/// - expanded values: aliases (`*name`) repeat what their anchor holds, so seven levels of
///   nine aliases in 554 bytes stood for 69 MB of values (the "billion laughs"); every later
///   walk of the document (Yams's duplicate-key check, JSON for the API, a profile update)
///   would pay for the expansion.
public enum ConfigurationBounds {
    /// Largest document accepted, in bytes of UTF-8.
    public static let maximumBytes = 256 * 1024
    /// Deepest nesting of mappings and sequences.
    public static let maximumDepth = 32
    /// Most values (scalars, mappings, sequences) the document may stand for once every
    /// alias is expanded.
    public static let maximumExpandedValues = 50_000
    /// Most bytes of scalar text the document may stand for once every alias is expanded
    /// (one 100 KB scalar repeated by 40,000 aliases is few values and 4 GB).
    public static let maximumExpandedBytes = 4 * 1024 * 1024

    /// The first limit `yaml` breaks, or nil. A document libyaml cannot read is left to Yams,
    /// whose error messages say more.
    static func violation(in yaml: String) -> ConfigurationIssue? {
        let bytes = Array(yaml.utf8)
        guard bytes.count <= maximumBytes else {
            return ConfigurationIssue(
                line: 1, column: 1, message: "the configuration is \(bytes.count) bytes; the limit is \(maximumBytes / 1024) KB")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        return bytes.withUnsafeBufferPointer { buffer -> ConfigurationIssue? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var measure = Measure()
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let mark = (line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
                if let message = measure.read(event) {
                    return ConfigurationIssue(line: mark.line, column: mark.column, message: message)
                }
                if event.type == YAML_STREAM_END_EVENT { return nil }
            }
            // libyaml's scanner reads ahead and has a nesting limit of its own (1,000); say so
            // in Herald's words. Other syntax errors are Yams's to report.
            let problem = parser.problem.map { String(cString: $0) } ?? ""
            guard problem.lowercased().contains("nesting level") else { return nil }
            return ConfigurationIssue(
                line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1,
                message: "the configuration nests deeper than \(maximumDepth) levels")
        }
    }

    /// Running totals over the events of one document.
    private struct Measure {
        /// Values and scalar bytes something stands for, expanded.
        struct Size {
            var values = 0
            var bytes = 0
        }

        /// Open collections: their anchor and what they stand for so far.
        var open: [(anchor: String?, size: Size)] = []
        /// What each anchor stands for, expanded.
        var anchored: [String: Size] = [:]
        var total = Size()

        mutating func read(_ event: yaml_event_t) -> String? {
            switch event.type {
            case YAML_SCALAR_EVENT:
                return add(Size(values: 1, bytes: Int(event.data.scalar.length)), anchor: Self.text(event.data.scalar.anchor))
            case YAML_ALIAS_EVENT:
                let name = Self.text(event.data.alias.anchor) ?? ""
                return add(anchored[name] ?? Size(values: 1, bytes: 0), anchor: nil)
            case YAML_SEQUENCE_START_EVENT:
                return start(anchor: Self.text(event.data.sequence_start.anchor))
            case YAML_MAPPING_START_EVENT:
                return start(anchor: Self.text(event.data.mapping_start.anchor))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let closed = open.popLast() else { return nil }
                if let anchor = closed.anchor { anchored[anchor] = closed.size }
                if !open.isEmpty {
                    open[open.count - 1].size.values += closed.size.values
                    open[open.count - 1].size.bytes += closed.size.bytes
                }
                return nil
            default:
                return nil
            }
        }

        mutating func start(anchor: String?) -> String? {
            guard open.count < ConfigurationBounds.maximumDepth else {
                return "the configuration nests deeper than \(ConfigurationBounds.maximumDepth) levels"
            }
            total.values += 1
            open.append((anchor: anchor, size: Size(values: 1, bytes: 0)))
            return checkTotal()
        }

        mutating func add(_ size: Size, anchor: String?) -> String? {
            total.values += size.values
            total.bytes += size.bytes
            if let anchor { anchored[anchor] = size }
            if !open.isEmpty {
                open[open.count - 1].size.values += size.values
                open[open.count - 1].size.bytes += size.bytes
            }
            return checkTotal()
        }

        func checkTotal() -> String? {
            if total.values > ConfigurationBounds.maximumExpandedValues {
                return "the configuration stands for more than \(ConfigurationBounds.maximumExpandedValues) values once its YAML aliases (*name) are expanded"
            }
            if total.bytes > ConfigurationBounds.maximumExpandedBytes {
                return "the configuration stands for more than \(ConfigurationBounds.maximumExpandedBytes / 1024 / 1024) MB of text once its YAML aliases (*name) are expanded"
            }
            return nil
        }

        static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: $0) }
        }
    }
}
