/// What became of a message, with Courier's meanings (DESIGN §3).
public enum MessageStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting for delivery (also between attempts, the history says why).
    case queued
    /// The channel accepted it: a webhook's 2xx, an inbox row, a log line.
    case sent
    /// The provider confirmed delivery (reported back through the API).
    case delivered
    /// It cannot be delivered: the receiver refused it, or every attempt failed.
    case undeliverable
    /// There was no channel or address to send it to.
    case unroutable
    /// Not sent on purpose (a preference, a cap); the history gives the reason.
    case skipped
    /// The recipient opened it.
    case opened
    /// The recipient clicked a link in it.
    case clicked

    /// Whether the delivery service still has work to do for a message in this status.
    public var awaitsDelivery: Bool { self == .queued }
}
