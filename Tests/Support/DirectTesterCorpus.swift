public import Foundation

/// Segment's direct-integration tester corpus (`Fixtures/segment-direct-tester`), with its
/// `{{...}}` placeholders filled the way Segment's tool fills them: fresh ids, the current
/// UTC time, plausible emails, names and numbers.
public struct DirectTesterCorpus: Sendable {
    /// One event template: the file it came from, its line, and its text.
    public struct Template: Sendable {
        /// File name, e.g. `track.log`.
        public let file: String
        /// One-based line number in that file.
        public let line: Int
        /// The template with placeholders still in it.
        public let text: String
    }

    /// Every template of every `.log` file, in file then line order.
    public let templates: [Template]

    /// Loads all `.log` files of the corpus.
    public init() throws {
        let folder = FixtureFiles.directory.appendingPathComponent("segment-direct-tester")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".log") }
            .sorted()
        var templates: [Template] = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                templates.append(Template(file: file, line: offset + 1, text: String(line)))
            }
        }
        self.templates = templates
    }

    /// The templates of one file.
    public func templates(in file: String) -> [Template] {
        templates.filter { $0.file == file }
    }
}

/// Fills `{{ name }}` placeholders with generated values. Each instance numbers its ids,
/// so every filled event gets fresh, unique `{{id}}`s (and so fresh messageIds).
public struct PlaceholderFiller: Sendable {
    private var counter: Int
    private let prefix: String
    private let now: String

    /// - Parameters:
    ///   - prefix: prepended to generated ids, to keep runs apart.
    ///   - now: the value of `{{now.utc}}`.
    public init(prefix: String = "t", now: Date = Date()) {
        self.counter = 0
        self.prefix = prefix
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        self.now = formatter.string(from: now)
    }

    /// The template with every placeholder replaced.
    public mutating func fill(_ template: String) -> String {
        var output = ""
        output.reserveCapacity(template.utf8.count + 64)
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                rest = rest[open.lowerBound...]
                break
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            output += value(for: name)
            rest = rest[close.upperBound...]
        }
        output += rest
        return output
    }

    private mutating func value(for name: String) -> String {
        counter += 1
        let n = counter
        switch name {
        case "now.utc": return now
        case "uuid": return String(format: "%08x-0000-4000-8000-%012x", n, n)
        case "email": return "user\(n)@example.com"
        case "name": return "Ada Lovelace"
        case "name.first": return "Ada"
        case "name.last": return "Lovelace"
        case "username": return "ada\(n)"
        case "domain": return "example.com"
        case "country.code": return "NL"
        case "product.name": return "Herald Mug"
        case "event.action": return "Clicked"
        case "double": return "\(n).25"
        case "avatar": return "https://example.com/avatar/\(n).png"
        case "ipv4": return "192.0.2.\(n % 250 + 1)"
        default: return "\(prefix)-\(n)"  // {{id}} and anything unknown: a unique id
        }
    }
}
