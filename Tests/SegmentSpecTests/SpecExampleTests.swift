import SegmentSpec
import Testing

@Suite("Spec examples: typed accessors over each call")
struct SpecExampleTests {
    @Test("track: common fields, context and reserved properties")
    func track() throws {
        let event = try SpecEvents.event(try FixtureText.spec("track"))
        #expect(event.type == .track)
        #expect(event.messageId == "022bb90c-bbac-11e4-8dfc-aa07a5b093db")
        #expect(event.anonymousId == "507f191e810c19729de860ea")
        #expect(event.userId == "97980cfea0067")
        #expect(event.event == "Course Clicked")
        #expect(event.revenue == 10.0)
        #expect(event.currency == "USD")
        #expect(event.value == 10)
        #expect(event.properties["revenue"]?.numberValue?.isInteger == false)
        #expect(event.version == "2")
        #expect(event.originalTimestampText == "2015-12-10T04:08:31.580Z")
        #expect(event.receivedAtText == "2015-12-10T04:08:31.909Z")
        let context = event.context
        #expect(context.library?.name == "analytics.js")
        #expect(context.library?.version == "2.11.1")
        #expect(context.ip == "8.8.8.8")
        #expect(context.locale == "en-US")
        #expect(context.timezone == "Europe/Amsterdam")
        #expect(context.groupId == "12345")
        #expect(context.active == true)
        #expect(context.page?.url == "https://segment.com/academy/")
        #expect(context.userAgent?.hasPrefix("Mozilla/5.0 (iPhone") == true)
        #expect(context.device?["manufacturer"] == "Apple")
        #expect(context.json["location"]?["latitude"]?.numberValue?.literal == "40.2964197")
        #expect(event.warnings.isEmpty)
    }

    @Test("identify: traits including address")
    func identify() throws {
        let event = try SpecEvents.event(try FixtureText.spec("identify"))
        #expect(event.traits.name == "Peter Gibbons")
        #expect(event.traits.email == "peter@example.com")
        #expect(event.traits.address?.postalCode == "94103")
        #expect(event.channel == "browser")
        #expect(event.version == "1.1")
        #expect(event.integrations?["Mixpanel"] == true)
    }

    @Test("page: name, category and page properties")
    func page() throws {
        let event = try SpecEvents.event(try FixtureText.spec("page"))
        #expect(event.courierName == "page/Home")
        #expect(event.category == "Docs")
        #expect(event.page.title == "Welcome | Initech")
        #expect(event.page.path == "/")
        #expect(event.page.referrer == "https://www.google.com/")
        #expect(event.page.search == "?q=initech")
        #expect(event.page.keywords == ["tps", "reports"])
    }

    @Test("screen, group and alias fields")
    func others() throws {
        let screen = try SpecEvents.event(try FixtureText.spec("screen"))
        #expect(screen.name == "Home")
        #expect(screen.courierData["Feed Type"] == "private")
        let group = try SpecEvents.event(try FixtureText.spec("group"))
        #expect(group.groupId == "0e8c78ea9d97a7b8185e8632")
        #expect(group.traits.industry == "Technology")
        #expect(group.traits.plan == "enterprise")
        let alias = try SpecEvents.event(try FixtureText.spec("alias"))
        #expect(alias.previousId == "39239-239239-239239-23923")
        #expect(alias.userId == "507f191e81")
    }
}
