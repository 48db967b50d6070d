import SegmentSpec
import Testing

@Suite("The Courier mapping: event names and the data object")
struct CourierMappingTests {
    @Test("each call maps to its Courier name", arguments: [
        (#"{"type":"track","event":"Order Completed","userId":"u"}"#, "track/Order Completed"),
        (#"{"type":"track","event":"Segment Test Event Name","userId":"u"}"#, "track/Segment Test Event Name"),
        (#"{"type":"page","name":"Home","userId":"u"}"#, "page/Home"),
        (#"{"type":"page","userId":"u"}"#, "page"),
        (#"{"type":"page","name":"","userId":"u"}"#, "page"),
        (#"{"type":"screen","name":"Feed","userId":"u"}"#, "screen/Feed"),
        (#"{"type":"screen","userId":"u"}"#, "screen"),
        (#"{"type":"identify","userId":"u"}"#, "identify"),
        (#"{"type":"group","groupId":"g","userId":"u"}"#, "group"),
        (#"{"type":"alias","previousId":"p","userId":"u"}"#, "alias"),
        (#"{"type":"delete","userId":"u"}"#, "delete"),
    ])
    func names(json: String, name: String) throws {
        #expect(try SpecEvents.event(json).courierName == name)
    }

    @Test("track properties become data with keys and values unchanged")
    func trackData() throws {
        let event = try SpecEvents.event(try FixtureText.eventTesterTrack)
        #expect(event.courierName == "track/Segment Test Event Name")
        let wrapped = JSONValue.object(JSONObject([(key: "data", value: .object(event.courierData))]))
        #expect(wrapped.encodedString() == #"{"data":{"property1":1,"property2":"test","property3":true}}"#)
    }

    @Test("page and screen data are their properties; identify and group data their traits")
    func otherData() throws {
        let page = try SpecEvents.event(try FixtureText.spec("page"))
        #expect(page.courierData["url"] == "http://www.example.com")
        let group = try SpecEvents.event(try FixtureText.spec("group"))
        #expect(group.courierData["employees"]?.numberValue?.int64Value == 329)
        let alias = try SpecEvents.event(try FixtureText.spec("alias"))
        #expect(alias.courierData.isEmpty)
    }
}
