extension Duration {
    /// Whole milliseconds in this duration (the store's time unit).
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
