/// A new message, as a `send` step writes it.
struct NewMessage {
    let id: String
    let workspace: String
    let runId: Int64
    let recipient: String
    let channel: String?
    let channelType: String?
    let template: String
    let subject: String?
    let body: String?
    let status: MessageStatus
    let reason: String?
    /// The original links of a tracked body, in order (nil: not tracked).
    var links: [String]? = nil
    /// Rendered HTML part (email).
    var html: String? = nil
    /// The email address (smtp channels).
    var address: String? = nil
    /// The one-click unsubscribe link (email's `List-Unsubscribe`).
    var unsubscribeURL: String? = nil
}
