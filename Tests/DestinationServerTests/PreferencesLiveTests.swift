import AutomationEngine
import DestinationServer
import Foundation
import HeraldTestSupport
import NIOHTTP1
import SegmentSpec
import Testing

/// Unsubscribing through every way there is, against the real server and a real SMTP server:
/// the email's one-click link, the API, an identify trait, the hosted page in a real browser.
/// Each time the next send is skipped and says why.
@Suite("Preferences through the live server: one-click, API, trait, the hosted page", .serialized)
struct PreferencesLiveTests {
    static func configuration(smtpPort: Int) -> String {
        """
        topics:
          news: { label: "News and offers", default: opt_in }
        channels:
          email: { type: smtp, host: localhost, port: \(smtpPort), username: herald, password: "s3cret pass", from: "news@herald.test" }
        templates:
          newsletter:
            channel: email
            topic: news
            subject: "News {{data.n}}"
            body: "Manage your email: {{preferences_url}}"
            html: "<a href=\\"{{preferences_url}}\\">Manage your email</a>"
        automations:
          news: { steps: [ { send: newsletter } ] }
        mappings:
          - on: track/News Due
            run: news
        """
    }

    /// A live Herald whose smtp channel reaches `server`, with the configuration applied and
    /// profile `u-1` (with an email address) identified.
    static func run(_ body: @Sendable @escaping (LiveHerald, SMTPTestServer) async throws -> Void) async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        try await LiveHerald.run(configure: { configuration in
            configuration.outboundDestinations = try! OutboundDestinationPolicy(allowing: ["localhost"])
            configuration.smtpTrustRootsFile = server.certificateFile
        }) { herald in
            try await herald.store.applyConfiguration(yaml: configuration(smtpPort: server.port), workspace: "default", secrets: .none)
            let identify = #"{"userId":"u-1","traits":{"name":"Ann","email":"ann@example.com"}}"#
            #expect(try await herald.post("/v1/identify", identify, auth: .bearer(herald.ingestKey)).status == 200)
            // The engine follows ingest: wait until it made the profile.
            for _ in 0..<400 where try await herald.store.profile(workspace: "default", id: "u-1") == nil { try await Task.sleep(for: .milliseconds(25)) }
            try await body(herald, server)
        }
    }

    /// Sends `track/News Due` number `n` and waits until its message has a final status.
    @discardableResult
    static func sendNews(_ herald: LiveHerald, _ n: Int, traits: String? = nil) async throws -> MessageRecord {
        if let traits {
            #expect(try await herald.post("/v1/identify", #"{"userId":"u-1","traits":\#(traits)}"#, auth: .bearer(herald.ingestKey)).status == 200)
        }
        #expect(try await herald.post("/v1/track", #"{"userId":"u-1","event":"News Due","properties":{"n":\#(n)}}"#, auth: .bearer(herald.ingestKey)).status == 200)
        for _ in 0..<400 {
            let messages = try await herald.store.messages(workspace: "default", recipient: "u-1")
            if let message = messages.first(where: { $0.subject == "News \(n)" }), message.status != .queued { return message }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PreferencesLiveTestError.noMessage(n)
    }

    static func runHistory(_ herald: LiveHerald, of message: MessageRecord) async throws -> [String] {
        try await herald.store.runHistory(runId: message.runId).map(\.outcome)
    }

    @Test("the email carries List-Unsubscribe and its one-click POST unsubscribes; the next send is skipped with the reason")
    func oneClick() async throws {
        try await Self.run { herald, server in
            let first = try await Self.sendNews(herald, 1)
            #expect(first.status == .sent)
            let mail = try #require(try await server.waitForMessages(1).first)
            let header = try #require(mail.header("List-Unsubscribe"))
            #expect(mail.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click")
            #expect(header.hasPrefix("<\(herald.baseURL)/p/") && header.hasSuffix("/one-click?topic=news&channel=email>"))
            let link = String(header.dropFirst().dropLast())
            let token = String(link.dropFirst("\(herald.baseURL)/p/".count).prefix { $0 != "/" })
            #expect(mail.part("text/plain") == "Manage your email: \(herald.baseURL)/p/\(token)")
            #expect(mail.part("text/html") == "<a href=\"\(herald.baseURL)/p/\(token)\">Manage your email</a>")

            let path = String(link.dropFirst(herald.baseURL.count))
            for _ in 0..<2 {  // a mail client may POST twice: one change is recorded
                let reply = try await herald.request(
                    .POST, path, body: "List-Unsubscribe=One-Click", auth: .none, contentType: "application/x-www-form-urlencoded")
                #expect(reply.status == 200)
            }
            let second = try await Self.sendNews(herald, 2)
            #expect(second.status == .skipped)
            let reason = second.history.last?.reason ?? ""
            #expect(reason.hasPrefix("the recipient opted out of topic `news` on channel `email` (one-click, "))
            #expect(try await Self.runHistory(herald, of: second).contains("message \(second.id) skipped: \(reason)"))
            #expect(try await herald.store.preferenceChanges(workspace: "default", profileId: "u-1").map(\.source) == ["one-click"])
            #expect(server.messages().count == 1)
        }
    }

    @Test("GET/PUT /api/profiles/{id}/preferences: choices recorded with source api; invalid ones are 400s naming the problem")
    func api() async throws {
        try await Self.run { herald, _ in
            let admin = LiveHerald.Auth.bearer(herald.adminKey)
            let before = try await herald.get("/api/profiles/u-1/preferences", auth: admin)
            #expect(before.status == 200)
            #expect(before.json?["topics"]?[0]?["status"] == "opt_in")
            #expect(before.json?["preferencesUrl"]?.stringValue?.hasPrefix("\(herald.baseURL)/p/") == true)
            for (body, message) in [
                (#"{"choices":[{"topic":"nope","status":"opt_out"}]}"#, "choices[0]: no topic `nope` in the configuration in force; topics: `news`"),
                (#"{"choices":[{"topic":"news","status":"maybe"}]}"#, "choices[0] needs `status`: `opt_in` or `opt_out`"),
                (#"{"choices":[{"topic":"news","channel":"sms","status":"opt_out"}]}"#, "choices[0]: no channel `sms` in the configuration in force"),
                (#"{"choices":[{"topic":"news","status":"opt_out","colour":"red"}]}"#, "choices[0] has an unknown field `colour`; expected `topic`, `channel`, `status`"),
                (#"{"topic":"news"}"#, #"send {"choices": [{"topic": "<topic or *>", "channel": "<channel or *>", "status": "opt_in" or "opt_out"}]}"#),
            ] {
                let reply = try await herald.request(.PUT, "/api/profiles/u-1/preferences", body: body, auth: admin)
                #expect(reply.status == 400)
                #expect(reply.message == message)
            }
            #expect(try await herald.request(.PUT, "/api/profiles/ghost/preferences", body: #"{"choices":[]}"#, auth: admin).status == 404)
            #expect(try await herald.request(.PUT, "/api/profiles/u-1/preferences", body: #"{"choices":[]}"#, auth: .bearer(herald.ingestKey)).status == 403)
            let put = try await herald.request(.PUT, "/api/profiles/u-1/preferences", body: #"{"choices":[{"topic":"news","status":"opt_out"}]}"#, auth: admin)
            #expect(put.status == 200)
            #expect(put.json?["topics"]?[0]?["status"] == "opt_out")
            #expect(put.json?["topics"]?[0]?["channels"]?["email"] == "opt_out")
            #expect(put.json?["history"]?[0]?["source"] == "api")
            #expect(put.json?["choices"]?[0]?["topic"] == "news")
            let skipped = try await Self.sendNews(herald, 1)
            #expect(skipped.status == .skipped)
            #expect(skipped.history.last?.reason?.hasPrefix("the recipient opted out of topic `news` on every channel (api, ") == true)
        }
    }

    @Test("identify with `unsubscribed: true` holds all email; the change is in the preference history")
    func trait() async throws {
        try await Self.run { herald, server in
            let skipped = try await Self.sendNews(herald, 1, traits: #"{"unsubscribed":true}"#)
            #expect(skipped.status == .skipped)
            #expect(skipped.history.last?.reason == "the recipient's `unsubscribed` trait is true: no email is sent to them")
            #expect(try await Self.runHistory(herald, of: skipped).contains { $0.hasSuffix("skipped: the recipient's `unsubscribed` trait is true: no email is sent to them") })
            let preferences = try await herald.get("/api/profiles/u-1/preferences", auth: .bearer(herald.adminKey))
            #expect(preferences.json?["unsubscribed"] == true)
            #expect(preferences.json?["history"]?[0]?["source"] == "identify")
            #expect(preferences.json?["history"]?[0]?["channel"] == "type:smtp")
            let sent = try await Self.sendNews(herald, 2, traits: #"{"unsubscribed":false}"#)
            #expect(sent.status == .sent)
            #expect(try await server.waitForMessages(1).count == 1)
        }
    }

    @Test("a forged or altered token is refused; the page's form needs its CSRF field and the same site")
    func forgedAndCrossSite() async throws {
        try await Self.run { herald, _ in
            let url = try #require(try await herald.get("/api/profiles/u-1/preferences", auth: .bearer(herald.adminKey)).json?["preferencesUrl"]?.stringValue)
            let path = String(url.dropFirst(herald.baseURL.count))
            #expect(try await herald.get(path).status == 200)
            var altered = Array(path)
            altered[altered.count - 2] = altered[altered.count - 2] == "A" ? "B" : "A"
            for forged in [String(altered), "/p/not-a-token", "/p/" + PreferenceToken.make(workspace: "default", profileId: "u-1", key: PreferenceToken.newKey())] {
                let reply = try await herald.get(forged)
                #expect(reply.status == 404)
                #expect(reply.message == "this preference link is not valid; use the link from your most recent email")
                let oneClick = try await herald.request(.POST, forged + "/one-click?topic=news", body: "List-Unsubscribe=One-Click", auth: .none, contentType: "application/x-www-form-urlencoded")
                #expect(oneClick.status == 404)
            }
            let page = try await herald.get(path)
            #expect(page.header("Referrer-Policy") == "no-referrer")
            #expect(page.header("Cache-Control") == "no-store")
            let csrf = try #require(page.body.components(separatedBy: #"name="csrf" value=""#).dropFirst().first?.components(separatedBy: "\"").first)
            let form = "shown=news&action=save"
            #expect(try await herald.request(.POST, path, body: form, auth: .none, contentType: "application/x-www-form-urlencoded").status == 403)
            #expect(try await herald.request(
                .POST, path, body: form + "&csrf=\(csrf)", auth: .none, contentType: "application/x-www-form-urlencoded",
                headers: [("Sec-Fetch-Site", "cross-site")]).status == 403)
            #expect(try await herald.request(
                .POST, path, body: form + "&csrf=\(csrf)", auth: .none, contentType: "application/x-www-form-urlencoded",
                headers: [("Origin", "https://evil.example")]).status == 403)
            #expect(try await herald.store.preferenceChanges(workspace: "default", profileId: "u-1").isEmpty)
            let oneClickWrongBody = try await herald.request(.POST, path + "/one-click?topic=news", body: "yes", auth: .none, contentType: "text/plain")
            #expect(oneClickWrongBody.status == 400)
            let saved = try await herald.request(.POST, path, body: form + "&csrf=\(csrf)", auth: .none, contentType: "application/x-www-form-urlencoded")
            #expect(saved.status == 200)  // the 303 to the page, followed
            #expect(saved.body.contains("Your preferences are saved."))
            #expect(try await herald.store.preferenceChanges(workspace: "default", profileId: "u-1").map(\.source) == ["page"])
        }
    }

    @Test("the hosted page in a real browser, on a phone: untick a topic, save; the next send is skipped")
    func pageInBrowser() async throws {
        try await Self.run { herald, _ in
            let url = try #require(try await herald.get("/api/profiles/u-1/preferences", auth: .bearer(herald.adminKey)).json?["preferencesUrl"]?.stringValue)
            let browser = try await WebDriver()
            do {
                try await browser.resize(width: 390, height: 844)
                try await browser.open(url)
                #expect(try await browser.waitForText("News and offers"))
                try await browser.screenshot("preferences-1-phone")
                try await browser.click("input[name=subscribe][value=news]")
                try await browser.click("#save")
                #expect(try await browser.waitForText("Your preferences are saved."))
                try await browser.screenshot("preferences-2-saved")
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
            let changes = try await herald.store.preferenceChanges(workspace: "default", profileId: "u-1")
            #expect(changes.map(\.source) == ["page"])
            #expect(changes.first?.choice == PreferenceChoice(topic: "news", status: .optOut))
            let skipped = try await Self.sendNews(herald, 1)
            #expect(skipped.status == .skipped)
            #expect(skipped.history.last?.reason?.hasPrefix("the recipient opted out of topic `news` on every channel (page, ") == true)
        }
    }
}

enum PreferencesLiveTestError: Error {
    case noMessage(Int)
}
