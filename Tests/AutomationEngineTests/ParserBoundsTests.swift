import AutomationEngine
import SegmentSpec
import Testing

/// Limits that keep user-written conditions, templates and YAML from exhausting the stack or
/// memory, and the fuzzing that checks no input crashes the parsers.
@Suite("Parser bounds: deep or huge input is an error with a position, never a crash")
struct ParserBoundsTests {
    @Test("conditions up to 100 levels parse; deeper ones are refused where they get too deep", arguments: [
        (String(repeating: "(", count: 99) + "data.x" + String(repeating: ")", count: 99), true),
        (String(repeating: "!", count: 99) + "data.x", true),
        (Array(repeating: "data.x", count: 100).joined(separator: " && "), true),
        (String(repeating: "(", count: 101) + "data.x" + String(repeating: ")", count: 101), false),
        (String(repeating: "!", count: 101) + "data.x", false),
        (Array(repeating: "data.x", count: 102).joined(separator: " || "), false),
        ("data.x in [" + Array(repeating: "1", count: 5_000).joined(separator: ",") + "]", true),
    ])
    func conditionDepth(expression: String, parses: Bool) {
        do {
            let condition = try Condition(parsing: expression)
            #expect(parses, "parsed \(expression.prefix(40))…")
            _ = condition.evaluate(in: JSONObject())
        } catch {
            #expect(!parses, "\(error)")
            #expect(error.reason.contains("nests deeper than 100 levels"), "\(error)")
            #expect(error.line == 1)
            #expect(error.column > 100, "points at the level that is too deep: \(error)")
        }
    }

    static let nestedTemplates: [(String, Int?)] = {
        let open33: String = String(repeating: "{{#a}}", count: 33)
        let close33: String = String(repeating: "{{/a}}", count: 33)
        let ok: String = String(repeating: "{{#a}}", count: 32) + String(repeating: "{{/a}}", count: 32)
        let changed: String = "{{=<% %>=}}" + String(repeating: "<%#a%>", count: 33) + String(repeating: "<%/a%>", count: 33)
        let mixed: String = String(repeating: "{{^a}}", count: 20) + "{{=| |=}}" + String(repeating: "|#b|", count: 13)
        return [(ok, nil), (open33 + close33, 193), (changed, 204), (mixed, 178), ("{{{raw}}} {{#a}}{{/a}} {{! #comment }} {{&amp}}", nil)]
    }()

    @Test("templates nest sections 32 deep at most, counted across delimiter changes", arguments: nestedTemplates)
    func templateDepth(text: String, failingColumn: Int?) {
        do {
            _ = try TextTemplate(text)
            #expect(failingColumn == nil, "parsed")
        } catch {
            #expect(error.reason == "sections nest deeper than 32 levels", "\(error)")
            #expect(error.column == failingColumn, "\(error)")
        }
    }

    @Test("a delimiter change the scanner cannot follow exactly is refused, so nesting cannot hide behind it", arguments: [
        "{{=x=}} y=}}" + String(repeating: "x=}}#a y", count: 40),
        "{{=é è=}}" + String(repeating: "é#a è", count: 40),
        "{{=<%=}}",
    ])
    func unreadableDelimiterChanges(text: String) {
        #expect(throws: TemplateSyntaxError.self) { try TextTemplate(text) }
    }

    @Test("a template error names the problem in words, at its line and column")
    func templateErrorsInWords() {
        #expect(throws: TemplateSyntaxError(reason: "a section `{{#…}}` or `{{^…}}` is never closed with `{{/…}}`", line: 2, column: 9)) {
            try TextTemplate("Hello\n{{#a}} x")
        }
        #expect(throws: TemplateSyntaxError(reason: "a closing tag `{{/…}}` does not match the section it closes", line: 1, column: 10)) {
            try TextTemplate("{{#a}}{{/b}}")
        }
    }

    @Test("templates render text: no HTML escaping, JSON for objects and arrays")
    func textRendering() throws {
        let scope = try #require(try JSONParser.parse(#"{"data":{"n":"A&B <c>","o":{"k":[1,2.50,"x"]},"e":{},"l":[]}}"#).objectValue)
        #expect(try TextTemplate("{{data.n}}|{{{data.n}}}|{{&data.n}}").render(scope) == "A&B <c>|A&B <c>|A&B <c>")
        #expect(try TextTemplate("{{data.o}} {{data.o.k}} {{data.o.k.1}}").render(scope) == #"{"k":[1,2.50,"x"]} [1,2.50,"x"] 2.5"#)
        #expect(try TextTemplate("{{#data.o.k}}[{{.}}]{{/data.o.k}}").render(scope) == "[1][2.5][x]")
        #expect(try TextTemplate("{{^data.l}}none{{/data.l}}{{#data.missing}}x{{/data.missing}}").render(scope) == "none")
        #expect(try TextTemplate("{{data.e}}{{count(data.o.k)}}").render(scope) == "{}3")
    }
}

/// Seeded random inputs for the condition parser, the template parser and the configuration
/// loader: deep nests, long chains, mutations of valid text. A crash fails the whole test
/// run; each case must either parse or throw its typed error. Bounded (a few seconds).
@Suite("Fuzz: the parsers of admin-written text never crash")
struct ParserFuzzTests {
    /// xorshift64*: deterministic, so a failure reproduces from its seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
    }

    static let conditionPieces = ["(", ")", "!", "&&", "||", "==", "<", ">=", "data.x", "profile.a.b", "\"s\"", "'t", "12", "-3.5e2", "true",
                                  "null", "contains", "startsWith", "in", "[", "]", ",", "exists", "exists(", ".", " ", "\n", "=", "é", "\\"]
    static let templatePieces = ["{{", "}}", "{{#a}}", "{{/a}}", "{{^b}}", "{{/b}}", "{{{c}}}", "{{&d}}", "{{=<% %>=}}", "<%#a%>", "<%/a%>",
                                 "{{$blk}}", "{{<p}}", "{{>part}}", "{{% CONTENT_TYPE: HTML}}", "{{!c}}", "text", "\n", "{{.}}", "{{count(a)}}", "="]
    static let yamlPieces = ["a:", " ", "  ", "\n", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "&y ", "*y", "'q'", "\"d\"", "|", ">", "? ",
                             "channels:", "templates:", "automations:", "mappings:", "steps:", "send:", "type: inbox", "update-profile:", "#", "${X}", "!!str "]

    static func text(from pieces: [String], count: Int, _ random: inout Generator) -> String {
        (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    @Test("random conditions parse or throw ConditionSyntaxError", arguments: 0..<4)
    func conditions(seed: UInt64) {
        var random = Generator(state: 0x9E37_79B9_7F4A_7C15 &+ seed)
        for round in 0..<2_500 {
            let length = round % 50 == 0 ? Int.random(in: 500...5_000, using: &random) : Int.random(in: 1...40, using: &random)
            let text = Self.text(from: Self.conditionPieces, count: length, &random)
            if let condition = try? Condition(parsing: text) {
                _ = condition.evaluate(in: JSONObject())
                _ = condition.description
            }
        }
    }

    @Test("random templates parse or throw TemplateSyntaxError, and render", arguments: 0..<4)
    func templates(seed: UInt64) throws {
        var random = Generator(state: 0xD1B5_4A32_D192_ED03 &+ seed)
        let scope = try #require(try JSONParser.parse(#"{"a":[{"a":[1]},{"b":true}],"b":false,"c":"<&>","d":{"e":1}}"#).objectValue)
        for round in 0..<2_500 {
            let length = round % 50 == 0 ? Int.random(in: 200...3_000, using: &random) : Int.random(in: 1...30, using: &random)
            let text = Self.text(from: Self.templatePieces, count: length, &random)
            if let template = try? TextTemplate(text) { _ = template.render(scope) }
        }
    }

    @Test("random YAML loads or throws ConfigurationError", arguments: 0..<4)
    func configurations(seed: UInt64) {
        var random = Generator(state: 0x2545_F491_4F6C_DD1D &+ seed)
        for round in 0..<1_500 {
            let length = round % 50 == 0 ? Int.random(in: 300...3_000, using: &random) : Int.random(in: 1...60, using: &random)
            let yaml = Self.text(from: Self.yamlPieces, count: length, &random)
            _ = try? ConfigurationLoader.load(yaml: yaml, secrets: .none, requireSecrets: false)
            _ = ConfigurationDocument.json(yaml: yaml)
        }
    }
}
