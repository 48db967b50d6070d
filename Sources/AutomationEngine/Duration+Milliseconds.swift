extension Duration {
    /// The longest duration Herald works with: 100 years. Longer ones are clamped, so
    /// adding one to a timestamp can never overflow.
    public static let longestSupported: Duration = .seconds(100 * 365 * 86_400)

    /// Whole milliseconds in this duration (the store's time unit), clamped to
    /// ±``longestSupported``.
    public var wholeMilliseconds: Int64 {
        let limit = Self.longestSupported.components.seconds
        let seconds = min(max(components.seconds, -limit), limit)
        return seconds * 1000 + (abs(components.seconds) > limit ? 0 : components.attoseconds / 1_000_000_000_000_000)
    }
}
