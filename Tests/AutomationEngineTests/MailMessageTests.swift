import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("Email: MIME rendering, RFC 2047 headers, SMTP replies, smtp channel configuration")
struct MailMessageTests {
    static let sample = MailMessage(
        from: "Zoë from Herald <noreply@herald.test>", to: "ann@example.com", replyTo: "support@herald.test",
        subject: "Grüße – your order ✓ is on its way, and this subject is long enough to need several encoded words",
        text: "Hello\n.\n..two dots\nbye", html: "<p>Hello</p>",
        messageID: MailMessage.messageID(messageId: "run-7-step-0", workspace: "eu prod", domain: "herald.test"),
        date: Date(timeIntervalSince1970: 1_795_000_000), unsubscribeURL: "https://herald.example/p/abc/unsubscribe?topic=news")

    @Test("the rendering is 7-bit, CR LF, multipart/alternative with both parts, and the same bytes on every call")
    func rendering() throws {
        let text = Self.sample.rendered()
        #expect(text == Self.sample.rendered())
        #expect(text.utf8.allSatisfy { $0 < 128 })
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(text.contains("\r\nMessage-ID: <herald.eu-prod.run-7-step-0@herald.test>\r\n"))
        #expect(text.contains("\r\nDate: Wed, 18 Nov 2026 11:06:40 +0000\r\n"))
        #expect(text.contains("\r\nList-Unsubscribe: <https://herald.example/p/abc/unsubscribe?topic=news>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"))
        var long = Self.sample
        long.unsubscribeURL = "https://herald.example/p/" + String(repeating: "x", count: 120) + "/one-click?topic=news&channel=email"
        #expect(long.rendered().contains("\r\nList-Unsubscribe: <https://herald.example/p/xxx"))  // on the name's line, however long
        #expect(text.contains("\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"))
        #expect(text.contains("\r\nContent-Type: text/html; charset=utf-8\r\n"))
        let boundary = try #require(text.components(separatedBy: "boundary=\"").dropFirst().first?.components(separatedBy: "\"").first)
        #expect(text.hasSuffix("--\(boundary)--\r\n"))
        #expect(text.components(separatedBy: "\r\n--\(boundary)\r\n").count == 3)
        for line in text.components(separatedBy: "\r\n") { #expect(line.utf8.count <= 998) }
    }

    @Test("a template without html is a single text part")
    func textOnly() {
        var message = Self.sample
        message.html = nil
        let text = message.rendered()
        #expect(!text.contains("multipart"))
        #expect(text.contains("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8NCi4NCi4udHdvIGRvdHMNCmJ5ZQ==\r\n"))
    }

    @Test("non-ASCII headers become UTF-8 encoded words of at most 75 characters that split no character")
    func encodedWords() throws {
        let text = Self.sample.rendered()
        let head = try #require(text.components(separatedBy: "\r\n\r\n").first)
        let subjectLines = head.components(separatedBy: "\r\n").drop { !$0.hasPrefix("Subject: ") }.prefix { $0.hasPrefix("Subject: ") || $0.hasPrefix(" ") }
        #expect(subjectLines.count > 1)
        var decoded = ""
        for line in subjectLines {
            let word = line.hasPrefix("Subject: ") ? String(line.dropFirst(9)) : String(line.dropFirst())
            #expect(word.count <= 75)
            #expect(word.hasPrefix("=?UTF-8?B?") && word.hasSuffix("?="))
            let data = try #require(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))))
            decoded += try #require(String(data: data, encoding: .utf8))  // each word is whole UTF-8
        }
        #expect(decoded == Self.sample.subject)
        #expect(text.hasPrefix("From: =?UTF-8?B?\(Data("Zoë from Herald".utf8).base64EncodedString())?= <noreply@herald.test>\r\n"))
        #expect(text.contains("\r\nTo: ann@example.com\r\n"))
    }

    @Test("dot-stuffing: a line of one dot cannot end the data early; lines end in CR LF")
    func dotStuffing() {
        #expect(SMTPDotStuffing.stuffed("a\n.\n..b\nc.\n") == "a\r\n..\r\n...b\r\nc.\r\n")
        #expect(SMTPDotStuffing.stuffed(".start\r\nend") == "..start\r\nend\r\n")
    }

    @Test("an email's HTML part escapes event data; text keeps it as written; {{{x}}} inserts HTML on purpose")
    func htmlEscaping() throws {
        let scope = JSONObject([(key: "data", value: .object(JSONObject([(key: "name", value: "Tom & <b>Jerry</b>")])))])
        #expect(try TextTemplate("<p>{{data.name}}</p>", escapingHTML: true).render(scope) == "<p>Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;</p>")
        #expect(try TextTemplate("<p>{{{data.name}}}</p>", escapingHTML: true).render(scope) == "<p>Tom & <b>Jerry</b></p>")
        #expect(try TextTemplate("{{data.name}}").render(scope) == "Tom & <b>Jerry</b>")
    }

    @Test("a line break in a subject cannot add a header")
    func headerInjection() {
        var message = Self.sample
        message.subject = "Hi\r\nBcc: victim@example.com"
        #expect(!message.rendered().contains("\r\nBcc:"))
    }

    @Test("replies are read over several lines; malformed ones are refused", arguments: [
        (["250-herald.test greets you", "250-STARTTLS", "250 AUTH PLAIN LOGIN"], "250 herald.test greets you STARTTLS AUTH PLAIN LOGIN"),
        (["550 5.1.1 <x@example.com>: mailbox unavailable"], "550 5.1.1 <x@example.com>: mailbox unavailable"),
        (["220"], "220 "),
    ])
    func replies(lines: [String], expected: String) throws {
        var reader = SMTPReply.Reader()
        var reply: SMTPReply?
        for (index, line) in lines.enumerated() {
            reply = try reader.take(line)
            #expect((reply == nil) == (index < lines.count - 1))
        }
        #expect(reply?.description.trimmingCharacters(in: .whitespaces) == expected.trimmingCharacters(in: .whitespaces))
    }

    @Test("a reply line that is not `<code> text`, or that changes code, is a protocol error", arguments: [
        ["hello"], ["25"], ["250-a", "251 b"], ["250*x"], ["999 x"],
    ])
    func malformedReplies(lines: [String]) {
        var reader = SMTPReply.Reader()
        #expect(throws: SMTPProtocolError.self) {
            for line in lines { _ = try reader.take(line) }
        }
    }

    @Test("addresses: what may go into RCPT TO", arguments: [
        ("ann@example.com", true), ("a.b+tag@mail.example.co.uk", true), ("ann", false), ("ann@localhost", false),
        ("ann@example.com>\r\nRCPT TO:<evil@example.com", false), ("a b@example.com", false), ("@example.com", false), ("ann@@example.com", false),
    ])
    func addresses(text: String, valid: Bool) {
        #expect(MailAddress.isValid(text) == valid)
    }

    @Test("an smtp channel: defaults by tls mode, credentials from the workspace's secrets only")
    func smtpChannel() throws {
        let yaml = """
            channels:
              mail:
                type: smtp
                host: smtp.example.com
                tls: implicit
                username: "${HERALD_SECRET_DEFAULT_SMTP_USER}"
                password: "${HERALD_SECRET_DEFAULT_SMTP_PASSWORD}"
                from: "Herald <noreply@example.com>"
            templates:
              t: { channel: mail, subject: Hi, body: "text", html: "<p>html</p>" }
            """
        let secrets = SecretEnvironment(variables: ["HERALD_SECRET_DEFAULT_SMTP_USER": "apikey", "HERALD_SECRET_DEFAULT_SMTP_PASSWORD": "pw"])
        let configuration = try ConfigurationLoader.load(yaml: yaml, secrets: secrets.scoped(to: "default"))
        #expect(configuration.channels[0].kind == .smtp(.init(
            host: "smtp.example.com", port: 465, security: .implicit, username: "apikey", password: "pw", from: "Herald <noreply@example.com>",
            replyTo: nil, timeoutSeconds: 30)))
        #expect(configuration.templates[0].html == "<p>html</p>")
        // Another workspace may not read workspace default's credentials.
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: secrets.scoped(to: "staging"))
            Issue.record("workspace staging read default's SMTP credentials")
        } catch {
            let messages = error.issues.map(\.message)
            #expect(messages.contains { $0.hasPrefix("`${HERALD_SECRET_DEFAULT_SMTP_USER}` is not a secret of workspace staging") })
            #expect(messages.contains { $0.hasPrefix("`${HERALD_SECRET_DEFAULT_SMTP_PASSWORD}` is not a secret of workspace staging") })
        }
    }

    @Test("smtp channel mistakes are named", arguments: [
        ("channels:\n  m: { type: smtp, from: a@example.com }\n", "smtp channel `m` needs `host:`"),
        ("channels:\n  m: { type: smtp, host: smtp.example.com }\n", "smtp channel `m` needs `from:`"),
        ("channels:\n  m: { type: smtp, host: smtp.example.com, from: nobody }\n", "smtp channel `m` needs `from:`"),
        ("channels:\n  m: { type: smtp, host: smtp.example.com, from: a@example.com, tls: ssl }\n", "`tls` must be `starttls`"),
        ("channels:\n  m: { type: smtp, host: smtp.example.com, from: a@example.com, port: 99999 }\n", "`port` must be a port number"),
        ("channels:\n  m: { type: smtp, host: \"${HERALD_SECRET_DEFAULT_HOST}\", from: a@example.com }\n", "`${…}` is resolved only in a channel's `secret`, `username` and `password`"),
        ("channels:\n  m: { type: smtp, host: smtp.example.com, from: a@example.com, url: \"https://x\" }\n", "unknown key `url` in channel `m`"),
        ("channels:\n  m: { type: smtp, host: smtp.example.com, from: a@example.com, password: x }\n", "`password` needs a `username`"),
    ])
    func smtpMistakes(yaml: String, message: String) {
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: SecretEnvironment(variables: [:]).scoped(to: "default"))
            Issue.record("accepted: \(yaml)")
        } catch {
            let messages = error.issues.map(\.message)
            #expect(messages.contains { $0.hasPrefix(message) }, "\(messages)")
        }
    }
}
