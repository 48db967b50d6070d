import AutomationEngine
import Foundation
import NIOHTTP1
import SegmentSpec
import Testing

@Suite("The web page, in a real headless Chromium", .serialized)
struct WebPageTests {
    @Test("sign in, see the empty state, watch the Event Tester track event arrive without a reload, open it")
    func eventTesterArrivesLive() async throws {
        try await LiveHerald.run { herald in
            let browser = try await WebDriver()
            do {
                try await browser.open(herald.baseURL + "/")
                #expect(try await browser.currentURL.hasSuffix("/sign-in"))
                try await browser.type(herald.ingestKey, into: "#key")
                try await browser.click("button[type=submit]")
                #expect(try await browser.waitForText("ingest key"), "an ingest key is refused with a reason")
                try await browser.type(herald.adminKey, into: "#key")
                try await browser.click("button[type=submit]")
                #expect(try await browser.waitForText("No Segment events received yet."))
                #expect(try await browser.text().contains("\(herald.baseURL.replacingOccurrences(of: "http://", with: ""))/inbound/segment"))
                try await browser.screenshot("1-empty-state")

                let track = try Payloads.eventTesterTrack
                #expect(try await herald.post("/inbound/segment", track, auth: .basic(herald.ingestKey)).status == 200)
                #expect(try await browser.waitForText("track/Segment Test Event Name"), "the event appears without a reload")
                #expect(try await !browser.isDisplayed("#empty-state"))
                try await browser.screenshot("2-event-arrived")

                try await browser.click("#event-rows a")
                #expect(try await browser.waitForText("Raw JSON as received"))
                let page = try await browser.text()
                #expect(page.contains("track/Segment Test Event Name"))
                #expect(page.contains(#""property1": 1"#))
                #expect(page.contains(#""property2": "test""#))
                #expect(page.contains("What Herald did"))
                #expect(page.contains("no configuration applied to workspace default"), "the explain trace says why nothing happened")
                try await browser.screenshot("3-event-detail")

                // An identify with `email` only at the top level: the page says so.
                try await browser.open(herald.baseURL + "/")
                let topLevelEmail = #"{"type":"identify","userId":"rod-test","email":"test@example.org","traits":{"trait1":2}}"#
                #expect(try await herald.post("/inbound/segment", topLevelEmail, auth: .basic(herald.ingestKey)).status == 200)
                #expect(try await browser.waitForText("rod-test"), "the identify's row arrives live")
                try await browser.resize(width: 390, height: 844)
                try await browser.screenshot("3b-events-on-a-phone")
                try await browser.click("#event-rows tr:first-child a")
                #expect(try await browser.waitForText("Warnings"))
                #expect(try await browser.text().contains("email is at the top level"))
                try await browser.screenshot("3c-identify-warning-on-a-phone")
                try await browser.resize(width: 1280, height: 900)

                try await browser.click(".sign-out button")
                #expect(try await browser.waitForText("Admin key"))
                try await browser.open(herald.baseURL + "/runs")
                #expect(try await browser.currentURL.hasSuffix("/sign-in"), "signed out: pages ask to sign in again")
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    @Test("unmapped event → start a mapping → the editor shows the problem at its line → fix and apply → dry run; runs can be cancelled")
    func mapAnEvent() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(ManagementPayloads.configuration)
            try await herald.ingest(ManagementPayloads.track("Signed Up", user: "u-1", id: "s-1"), ManagementPayloads.track("Cart Abandoned", user: "u-1", id: "c-1"))
            try await herald.waitForEngine()
            let browser = try await WebDriver()
            do {
                try await browser.open(herald.baseURL + "/sign-in")
                try await browser.type(herald.adminKey, into: "#key")
                try await browser.click("button[type=submit]")
                #expect(try await browser.waitForText("Segment events"))
                try await browser.open(herald.baseURL + "/unmapped")
                #expect(try await browser.waitForText("track/Signed Up"))
                try await browser.click("a.button")
                #expect(try await browser.waitForText("A mapping for this event was added"))
                try await browser.click("form[action='/config'] button")
                #expect(try await browser.waitForText("The configuration is invalid"))
                #expect(try await browser.text().contains("CHOOSE-AN-AUTOMATION"))
                #expect(try await browser.element(".listing .problem") != nil, "the problem is marked at its line")
                try await browser.screenshot("4-config-error-at-line")
                #expect(try await herald.api("/api/config")["version"] == 1)

                // Choose the automation and apply: version 2 maps the event.
                let fixed = ManagementPayloads.configuration + "\n  - on: track/Signed Up\n    run: confirm\n"
                try await browser.clear("#yaml")
                try await browser.type(fixed, into: "#yaml")
                try await browser.click("form[action='/config'] button")
                #expect(try await browser.waitForText("Applied: version 2 is in force."))
                #expect(try await herald.api("/api/mappings")["mappings"]?.arrayValue?.count == 3)

                // The dry-run box shows what an event would do, and stores nothing.
                let runsBefore = try await herald.store.runs(workspace: "default").count
                try await browser.clear("#event")
                try await browser.type(#"{"type":"track","event":"Cart Abandoned","userId":"u-7","properties":{"product":"Lamp"}}"#, into: "#event")
                try await browser.click("#dry-run-button")
                #expect(try await browser.waitForText("Run of remind for u-7"))
                #expect(try await browser.text().contains("Still thinking about Lamp?"))
                try await browser.screenshot("4b-dry-run")
                #expect(try await herald.store.runs(workspace: "default").count == runsBefore)

                try await browser.open(herald.baseURL + "/runs")
                #expect(try await browser.waitForText("remind"))
                try await browser.click("tbody a")
                try await browser.click("button.danger")
                #expect(try await browser.waitForText("was cancelled"))
                #expect(try await herald.api("/api/runs?state=cancelled")["runs"]?.arrayValue?.count == 1)
                try await browser.screenshot("5-run-cancelled")
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    /// A webhook channel whose URL the server may not reach (a loopback address, not allowed):
    /// every message to it is `undeliverable` at once, with the reason.
    static let failingConfiguration = """
        channels:
          mailer: { type: webhook, url: "http://127.0.0.1:9/send" }
        templates:
          welcome: { channel: mailer, subject: "Welcome, {{profile.firstName}}!", body: "Thanks for joining." }
        automations:
          welcome-series:
            steps:
              - send: welcome
        mappings:
          - on: identify
            run: welcome-series

        """

    @Test("the operator's walk: empty state → events → an event → its run → its message → the profile; a failed delivery is red; overview; dry run of a draft")
    func operatorWalk() async throws {
        try await LiveHerald.run { herald in
            try await herald.applyConfiguration(Self.failingConfiguration)
            let browser = try await WebDriver()
            do {
                try await browser.open(herald.baseURL + "/sign-in")
                try await browser.type(herald.adminKey, into: "#key")
                try await browser.click("button[type=submit]")
                #expect(try await browser.waitForText("No Segment events received yet."))
                try await browser.screenshot("6-walk-empty-state")

                try await herald.ingest(ManagementPayloads.identify(user: "ada", id: "walk-1", traits: #"{"firstName":"Ada","email":"ada@example.org","plan":"pro"}"#))
                try await herald.waitForEngine()
                var settled = false
                for _ in 0..<200 where !settled {
                    settled = try await herald.api("/api/messages")["messages"]?.arrayValue?.first?["status"]?.stringValue == "undeliverable"
                    if !settled { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(settled, "the message to a loopback address is undeliverable")

                // Events: the row links to the event and to the profile; times are human, exact on hover.
                #expect(try await browser.waitForText("started run 1 of welcome-series"))
                try await browser.open(herald.baseURL + "/")
                #expect(try await browser.element("#event-rows time[title$='UTC']") != nil)
                #expect(try await browser.element("#event-rows a[href='/profiles/ada']") != nil)
                try await browser.screenshot("7-walk-events")

                try await browser.click("#event-rows a[href^='/events/']")
                #expect(try await browser.waitForText("Runs it started"))
                var page = try await browser.text()
                #expect(page.contains("Run #1 of welcome-series"))
                #expect(page.contains("completed with failures"))
                #expect(page.contains("Welcome, Ada!"))
                #expect(!page.contains("`"), "engine messages show code, not backticks")
                try await browser.screenshot("8-walk-event")

                try await browser.click("a[href='/runs/1']")
                #expect(try await browser.waitForText("Run #1 of welcome-series"))
                page = try await browser.text()
                #expect(page.contains("completed with failures"))
                #expect(page.contains("loopback"), "the failure's reason is on the run")
                #expect(!page.contains("`"))
                try await browser.screenshot("9-walk-run")

                try await browser.click("table a[href^='/messages/']")
                #expect(try await browser.waitForText("Status history"))
                page = try await browser.text()
                #expect(page.contains("welcome to ada"))
                #expect(page.contains("undeliverable"))
                #expect(page.contains("Welcome, Ada!"))
                try await browser.screenshot("10-walk-message")

                try await browser.click("dd a[href='/profiles/ada']")
                #expect(try await browser.waitForText("Timeline"))
                page = try await browser.text()
                #expect(page.contains("Profile ada"))
                #expect(page.contains(#""firstName": "Ada""#))
                #expect(page.contains("run #1 of welcome-series"))
                #expect(page.contains("welcome via mailer"))
                try await browser.screenshot("11-walk-profile")

                // The runs list shows the failed delivery in red, with its time and triggering event.
                try await browser.open(herald.baseURL + "/runs")
                #expect(try await browser.waitForText("completed with failures"))
                #expect(try await browser.element(".runs .state.failed") != nil)
                #expect(try await browser.element(".runs a[href^='/events/']") != nil)
                try await browser.screenshot("12-walk-runs-failed")

                // Messages: subject and failure reason, filtered by status.
                try await browser.open(herald.baseURL + "/messages?status=undeliverable")
                #expect(try await browser.waitForText("Welcome, Ada!"))
                #expect(try await browser.text().contains("loopback"))
                try await browser.open(herald.baseURL + "/messages?status=sent")
                #expect(try await browser.waitForText("No message matches these filters."))
                try await browser.open(herald.baseURL + "/?type=track")
                #expect(try await browser.waitForText("No event matches these filters."))

                try await browser.open(herald.baseURL + "/overview")
                #expect(try await browser.waitForText("Events, last hour"))
                page = try await browser.text()
                #expect(page.contains("1 event;"))
                #expect(page.contains("1 undeliverable"))
                #expect(try await browser.element("svg.chart rect") != nil, "the chart is drawn")
                try await browser.screenshot("13-walk-overview")

                // The dry run tries the draft in the editor (not applied), prefilled with the event.
                try await browser.open(herald.baseURL + "/config?event=1")
                #expect(try await browser.waitForText("Dry run this draft"))
                let draft = Self.failingConfiguration.replacingOccurrences(of: "Welcome, {{profile.firstName}}!", with: "Draft hello, {{profile.firstName}}")
                try await browser.clear("#yaml")
                try await browser.type(draft, into: "#yaml")
                try await browser.click("#dry-run-button")
                #expect(try await browser.waitForText("Dry run of the draft below"))
                page = try await browser.text()
                #expect(page.contains("Draft hello, Ada"))
                #expect(page.contains("POST http://127.0.0.1:9/send"))
                #expect(page.contains("Idempotency-Key: run-"))
                #expect(page.contains(#""email": "ada@example.org""#))
                #expect(try await browser.element("#dry-run-result") != nil)
                try await browser.screenshot("14-walk-dry-run-of-a-draft")
                #expect(try await herald.api("/api/config")["version"] == 1, "the draft was not applied")
            } catch {
                await browser.quit()
                throw error
            }
            await browser.quit()
        }
    }

    /// One HTTP/1.1 exchange over a raw socket (no redirect following, headers as sent).
    static func exchange(_ herald: LiveHerald, _ method: String, _ path: String, cookie: String? = nil, form: String? = nil) async throws -> String {
        let connection = try RawConnection(port: herald.port)
        defer { connection.close() }
        var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let cookie { request += "Cookie: \(cookie)\r\n" }
        if let form { request += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n\(form)" } else { request += "\r\n" }
        connection.send(request)
        return await connection.finishAndRead()
    }

    @Test("state-changing forms need the session's CSRF token; pages need a session that ends with its key")
    func csrfAndSessions() async throws {
        try await LiveHerald.run { herald in
            // Without a session, pages send the browser to sign in and fragments answer 401.
            let page = try await Self.exchange(herald, "GET", "/runs")
            #expect(page.hasPrefix("HTTP/1.1 303"))
            #expect(page.contains("location: /sign-in") || page.contains("Location: /sign-in"))
            #expect(try await Self.exchange(herald, "GET", "/events/rows?after=0").hasPrefix("HTTP/1.1 401"))

            // Signing in needs the form's double-submit token too (no login CSRF).
            #expect(try await Self.exchange(herald, "POST", "/sign-in", form: "key=\(herald.adminKey)").hasPrefix("HTTP/1.1 403"))
            let form = try await Self.exchange(herald, "GET", "/sign-in")
            let tokenCookie = try #require(form.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie: herald_sign_in=") })
            let token = try #require(tokenCookie.dropFirst("set-cookie: herald_sign_in=".count).split(separator: ";").first).description
            #expect(form.contains(#"name="csrf" value="\#(token)""#))
            let signIn = try await Self.exchange(herald, "POST", "/sign-in", cookie: "herald_sign_in=\(token)", form: "key=\(herald.adminKey)&csrf=\(token)")
            #expect(signIn.hasPrefix("HTTP/1.1 303"))
            let setCookie = try #require(signIn.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") })
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("Secure"))
            #expect(setCookie.contains("SameSite=Strict"))
            let cookie = try #require(setCookie.dropFirst("set-cookie:".count).split(separator: ";").first).trimmingCharacters(in: .whitespaces)
            #expect(try await Self.exchange(herald, "GET", "/runs", cookie: cookie).hasPrefix("HTTP/1.1 200"))

            let forged = try await Self.exchange(herald, "POST", "/config", cookie: cookie, form: "yaml=mappings%3A+%5B%5D&csrf=guess")
            #expect(forged.hasPrefix("HTTP/1.1 403"))
            #expect(forged.contains("CSRF"))
            #expect(try await herald.get("/api/config", auth: .bearer(herald.adminKey)).status == 404, "nothing was applied")

            let keys = try await herald.store.listKeys(workspace: "default")
            try await herald.store.revokeKey(id: try #require(keys.first { $0.scope == .admin }).id)
            #expect(try await Self.exchange(herald, "GET", "/runs", cookie: cookie).hasPrefix("HTTP/1.1 303"), "revoking the key ends its sessions")
        }
    }
}
