public import Foundation

/// When the client sends a batch again: after a 429 (when `Retry-After` says, else with
/// backoff), a 5xx, a 408 or a network error; never after a 400 or another 4xx, which would
/// be refused again.
public struct SegmentRetryPolicy: Sendable, Hashable {
    /// Attempts of one batch at most, the first included.
    public var maximumAttempts: Int
    /// The wait before the first retry; each later one doubles, up to ``maximumBackoff``.
    public var initialBackoff: Duration
    /// The longest wait between attempts.
    public var maximumBackoff: Duration
    /// The longest `Retry-After` the client waits for; a longer one ends the attempts, and the
    /// result says when to try again (``SegmentBatchResult/Outcome/failed(reason:retryAfter:)``).
    public var maximumRetryAfter: Duration

    /// A policy; the defaults make 5 attempts over about 3 seconds.
    public init(maximumAttempts: Int = 5, initialBackoff: Duration = .milliseconds(200), maximumBackoff: Duration = .seconds(30),
                maximumRetryAfter: Duration = .seconds(60)) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.maximumRetryAfter = maximumRetryAfter
    }

    /// Whether a batch answered with `status` is worth sending again.
    public static func isRetryable(status: Int) -> Bool {
        status == 429 || status == 408 || (500..<600).contains(status)
    }

    /// The wait after failed attempt `attempt` (from 1): exponential, with jitter (half to all
    /// of it) so that many senders do not come back at the same instant.
    public func backoff(afterAttempt attempt: Int, jitter: Double = Double.random(in: 0.5...1)) -> Duration {
        let exponent = Double(min(attempt - 1, 30))
        let base = min(initialBackoff.seconds * pow(2, exponent), maximumBackoff.seconds)
        return .milliseconds(Int64(base * jitter * 1000))
    }

    /// A `Retry-After` value as a wait from `now`: delay-seconds, or an HTTP date (RFC 9110).
    /// Nil when it is neither.
    public static func retryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(text), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }
}

extension Duration {
    /// The duration in seconds, fractions included.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
