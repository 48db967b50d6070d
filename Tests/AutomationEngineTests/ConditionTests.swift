import AutomationEngine
import SegmentSpec
import Testing

@Suite("Conditions: parse once, evaluate purely, explain what was seen")
struct ConditionTests {
    static let scope: JSONObject = {
        let text = #"""
            {"data":{"revenue":19.99,"zero":0,"currency":"usd","order_id":"o-1","tags":["vip","beta"],"big":9007199254740993,"flag":true,"empty":""},
             "traits":{"plan":"pro"},
             "profile":{"email":"ada@example.com","firstName":"Ada","company":{"name":"Initech"}},
             "group":{},
             "event":{"type":"track","name":"track/Order Completed","userId":"u-1"}}
            """#
        return (try? JSONParser.parse(text))?.objectValue ?? JSONObject()
    }()

    @Test("each operator evaluates as documented", arguments: [
        ("data.revenue > 0", true),
        ("data.revenue > 19.99", false),
        ("data.revenue >= 19.99", true),
        ("data.zero < 1", true),
        ("data.zero <= -1", false),
        ("data.currency == \"usd\"", true),
        ("data.currency == 'usd'", true),
        ("data.currency != \"usd\"", false),
        ("data.revenue > 0 && data.currency == \"usd\"", true),
        ("data.revenue > 100 || data.currency == \"usd\"", true),
        ("data.revenue > 100 || data.currency == \"eur\"", false),
        ("!(data.revenue > 100)", true),
        ("!data.flag", false),
        ("data.tags contains \"vip\"", true),
        ("data.tags contains \"gold\"", false),
        ("profile.email contains \"@example\"", true),
        ("profile.email startsWith \"ada\"", true),
        ("profile.email startsWith \"bob\"", false),
        ("data.order_id exists", true),
        ("data.coupon exists", false),
        ("exists(profile.company.name)", true),
        ("traits.plan in [\"pro\", \"team\"]", true),
        ("traits.plan in [\"free\"]", false),
        ("traits.plan in []", false),
        ("data.missing == null", true),
        ("data.missing.deeper == null", true),
        ("data.big == 9007199254740993", true),
        ("data.big == 9007199254740992", false),
        ("data.zero == 0.0", true),
        ("event.name == \"track/Order Completed\"", true),
        ("data.tags.0 == \"vip\"", true),
        ("data.flag", true),
        ("data.empty", false),
        ("true && !false", true),
        ("(data.revenue > 0 || data.zero > 0) && traits.plan == \"pro\"", true),
    ])
    func evaluates(expression: String, expected: Bool) throws {
        let condition = try Condition(parsing: expression)
        #expect(condition.evaluate(in: Self.scope).value == expected, "\(expression) parsed as \(condition)")
    }

    @Test("kind mismatches are false and explained, never a crash", arguments: [
        ("data.currency > 5", "type mismatch: data.currency > 5 compares a string with a number; false"),
        ("data.revenue contains \"1\"", "type mismatch: data.revenue is a number; `contains` needs a string or an array"),
    ])
    func mismatches(expression: String, note: String) throws {
        let outcome = try Condition(parsing: expression).evaluate(in: Self.scope)
        #expect(outcome.value == false)
        #expect(outcome.notes.contains(note), "\(outcome.notes)")
    }

    @Test("the outcome records the values it read, for the explain trace")
    func notes() throws {
        let outcome = try Condition(parsing: "data.zero > 0").evaluate(in: Self.scope)
        #expect(outcome.value == false)
        #expect(outcome.notes == ["data.zero = 0"])
    }

    @Test("syntax errors say what and where", arguments: [
        ("data.revenue >", 1, 15, "the expression ends where a value was expected"),
        ("data.revenue = 0", 1, 14, "`=` is not an operator; compare with `==`"),
        ("revenue > 0", 1, 1, "unknown name `revenue`: paths start with `data`, `traits`, `profile`, `group`, `event`"),
        ("data.currency == \"usd", 1, 18, "string is not closed (missing \")"),
        ("(data.a > 1", 1, 12, "expected `)` to close the `(` at column 1"),
        ("data.a > 1 data.b", 1, 12, "unexpected `data` after the end of the expression"),
        ("data.a in \"x\"", 1, 11, "expected `[` after `in`"),
        ("data.a > 1 &&\n  data.b ~ 2", 2, 10, "unexpected character `~`"),
        ("data. > 1", 1, 7, "expected a name after `.` in data"),
    ])
    func syntaxErrors(expression: String, line: Int, column: Int, reason: String) {
        #expect(throws: ConditionSyntaxError(reason: reason, line: line, column: column)) { try Condition(parsing: expression) }
    }

    @Test("parsing is canonical: the printed form parses to the same tree")
    func roundTrip() throws {
        for text in ["data.revenue > 0 && data.currency == \"usd\"", "!(data.x)", "traits.plan in [\"pro\", 2, null]"] {
            let condition = try Condition(parsing: text)
            #expect(try Condition(parsing: condition.description) == condition)
        }
    }
}
