@testable import AutomationEngine
import Foundation
import SegmentSpec
import Testing

/// Templates of text and variables render without swift-mustache, to exactly what
/// swift-mustache renders; anything else still goes through it.
@Suite("Plain templates: the fast path renders what swift-mustache renders")
struct PlainTemplateTests {
    static let scope: JSONObject = {
        let json = #"""
            {"data":{"order_id":"o-1","revenue":19.99,"count":3,"big":12345678901234,"tiny":1e-7,"whole":100.0,"free":false,"paid":true,
                     "nothing":null,"items":[{"sku":"a","qty":2},"plain",7,null,[1,2]],"nested":{"deep":{"deeper":"yes"}},
                     "html":"<b>Tom & Jerry's \"show\"</b>","accent":"Zoë ♥ <é>","empty":"","obj":{"a":1,"b":[true,null]},"dash-key":"d","under_key":"u"},
             "profile":{"firstName":"Ada","email":"ada@example.com","tags":[]},
             "event":{"messageId":"m-1","name":"track/Order Completed"},
             "preferences_url":"https://h.example/p/tok?x=1&y=2"}
            """#
        return try! JSONParser.parse(json).objectValue!
    }()

    static let plainTemplates = [
        "", "no tags at all", "Order {{data.order_id}} for {{profile.firstName}}", "{{ data.order_id }}", "{{{data.html}}}", "{{& data.html}}",
        "{{data.html}}", "{{data.accent}}", "{{data.revenue}} {{data.count}} {{data.big}} {{data.tiny}} {{data.whole}}", "{{data.free}}/{{data.paid}}",
        "[{{data.nothing}}]", "[{{data.missing}}] [{{missing.entirely}}] [{{data.order_id.length}}] [{{data.count.x}}]",
        "{{data.items.0.sku}} {{data.items.1}} {{data.items.2}} {{data.items.3}} {{data.items.4}} {{data.items.9}} {{data.items.-1}} {{data.items.x}}",
        "{{data.items}}", "{{data.obj}}", "{{{data.obj}}}", "{{data}}", "{{profile.tags}}", "{{data.nested.deep.deeper}}", "{{data.dash-key}} {{data.under_key}}",
        "line one\nline two {{data.order_id}}\r\nthree", "{{preferences_url}}", "{{{preferences_url}}}", "a }} b", "{{data.empty}}x", "a { b {x}",
    ]

    static let mustacheOnly = [
        "{{#data.items}}{{sku}}{{/data.items}}", "{{^data.free}}no{{/data.free}}", "{{! comment }}", "{{.}}", "{{count(data.items)}}",
        "{{=<% %>=}}<% data.order_id %>", "{{> partial}}",
    ]

    @Test("text-and-variable templates are plain, and render as swift-mustache does, in text and in HTML mode", arguments: [false, true])
    func plainMatchesMustache(escapingHTML: Bool) throws {
        for text in Self.plainTemplates {
            let template: TextTemplate
            do { template = try TextTemplate(text, escapingHTML: escapingHTML) } catch { Issue.record("\(text): \(error)"); continue }
            #expect(template.isPlain, "not plain: \(text)")
            let fast = template.render(Self.scope)
            let reference = template.renderThroughMustache(Self.scope)
            #expect(fast == reference, "\(text): plain \(fast) vs swift-mustache \(reference)")
        }
    }

    @Test("sections, comments, transforms, delimiters and partials go through swift-mustache")
    func othersAreNotPlain() throws {
        for text in Self.mustacheOnly {
            let template: TextTemplate
            do { template = try TextTemplate(text) } catch { Issue.record("\(text): \(error)"); continue }
            #expect(!template.isPlain, "taken as plain: \(text)")
            #expect(template.render(Self.scope) == template.renderThroughMustache(Self.scope))
        }
    }
}
