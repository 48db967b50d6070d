import SegmentSpec
import Testing

@Suite("Identify: the profile patch")
struct ProfilePatchTests {
    @Test("Event Tester identify: top-level email is used when traits have none, with a warning")
    func topLevelEmail() throws {
        let event = try SpecEvents.event(#"{"type":"identify","userId":"u","email":"top@example.org","traits":{"trait1":2}}"#)
        #expect(event.warnings == ["email is at the top level; Segment's spec puts it inside traits"])
        let patch = ProfilePatch(identify: event)
        #expect(patch.traits["email"] == "top@example.org")
        #expect(patch.traits["trait1"]?.numberValue?.int64Value == 2)
    }

    @Test("the Event Tester identify payload (the same email at the top level and in traits) keeps its traits email, without a warning")
    func eventTesterIdentify() throws {
        let event = try SpecEvents.event(try FixtureText.eventTesterIdentify)
        #expect(event.userId == "rod-test")
        #expect(event.isEventTesterMessage)
        #expect(event.warnings.isEmpty)
        #expect(ProfilePatch(identify: event).traits["email"] == "test@example.org")
    }

    @Test("traits email wins over the top-level one, and a different top-level one is a warning")
    func traitsEmailWins() throws {
        let event = try SpecEvents.event(#"{"type":"identify","userId":"u","email":"top@x","traits":{"email":"t@x"}}"#)
        #expect(event.warnings == ["email at the top level differs from traits.email; Herald uses traits.email"])
        #expect(ProfilePatch(identify: event).traits["email"] == "t@x")
    }

    @Test("reserved traits in snake_case become camelCase; name is derived", arguments: [
        (#"{"first_name":"Ada","last_name":"Lovelace","created_at":"2020-01-01T00:00:00Z"}"#,
         #"{"firstName":"Ada","lastName":"Lovelace","createdAt":"2020-01-01T00:00:00Z","name":"Ada Lovelace"}"#),
        (#"{"firstName":"Ada","lastName":"Lovelace"}"#, #"{"firstName":"Ada","lastName":"Lovelace","name":"Ada Lovelace"}"#),
        (#"{"firstName":"Ada"}"#, #"{"firstName":"Ada","name":"Ada"}"#),
        (#"{"name":"Countess","firstName":"Ada"}"#, #"{"name":"Countess","firstName":"Ada"}"#),
        (#"{"firstName":"Camel","first_name":"snake"}"#, #"{"firstName":"Camel","name":"Camel"}"#),
        (#"{"address":{"postal_code":"94103","city":"SF"},"company":{"name":"Initech","employee_count":12}}"#,
         #"{"address":{"postalCode":"94103","city":"SF"},"company":{"name":"Initech","employeeCount":12}}"#),
        (#"{"plan":"pro","custom_key":1}"#, #"{"plan":"pro","custom_key":1}"#),
    ])
    func normalization(traits: String, expected: String) throws {
        let normalized = ProfilePatch.normalize(traits: try SpecEvents.object(traits))
        #expect(JSONValue.object(normalized).encodedString() == expected)
    }

    @Test("typed trait accessors read either spelling")
    func accessors() throws {
        let traits = Traits(try SpecEvents.object(#"{"first_name":"Ada","lastName":"L","address":{"postal_code":1234},"age":36}"#))
        #expect(traits.firstName == "Ada")
        #expect(traits.lastName == "L")
        #expect(traits.name == "Ada L")
        #expect(traits.address?.postalCode == "1234")
        #expect(traits.age?.int64Value == 36)
    }
}
