public import Foundation
public import SegmentSpec

/// The `smtp` channel: sends each message as an email through the channel's SMTP server
/// (``SMTPTransport``: only where the operator's destination policy allows, sessions reused).
///
/// The email is a ``MailMessage``: the template's `subject`, its `body` as the text part and
/// its `html` as the HTML part, a `Message-ID` derived from the message's stable id and a
/// `Date` of when the message was written (so a retry is the same email), and the
/// one-click unsubscribe headers when the message has a preference link. It goes to the
/// address chosen when the message was written (``OutgoingMessage/address``).
///
/// A 250 after the data is `sent`; any 5xx is `undeliverable` with the server's reply;
/// 4xx replies, network errors and timeouts are retried with the delivery service's backoff.
public struct SMTPChannel: DeliveryChannel {
    private let settings: HeraldConfiguration.SMTPSettings
    private let transport: SMTPTransport

    /// An smtp channel of these settings, sending through `transport`.
    public init(settings: HeraldConfiguration.SMTPSettings, transport: SMTPTransport) {
        self.settings = settings
        self.transport = transport
    }

    /// The email a message becomes.
    public static func mail(for message: OutgoingMessage, address: String, settings: HeraldConfiguration.SMTPSettings) -> MailMessage {
        MailMessage(
            from: settings.from, to: address, replyTo: settings.replyTo, subject: message.subject ?? "", text: message.body ?? "",
            html: message.html,
            messageID: MailMessage.messageID(messageId: message.id, workspace: message.workspace, domain: MailMessage.domain(of: settings.from)),
            date: Date(timeIntervalSince1970: Double(message.createdAt) / 1000), unsubscribeURL: message.unsubscribeURL)
    }

    public func deliver(_ message: OutgoingMessage) async -> DeliveryOutcome {
        for (field, value) in [("username", settings.username), ("password", settings.password)] where value?.contains("${") == true {
            return .undeliverable("the channel's \(field) \(value!) is not set in the server's environment, or is not an allowed name")
        }
        guard let address = message.address, MailAddress.isValid(address) else {
            return .undeliverable("the message has no valid email address")
        }
        let mail = Self.mail(for: message, address: address, settings: settings)
        return await transport.send(from: MailAddress.bare(settings.from), to: address, data: mail.rendered(), settings: settings)
    }
}
