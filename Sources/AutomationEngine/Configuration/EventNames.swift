/// The names Herald gives events (DESIGN §2, the Courier mapping), for telling a mapping's
/// `on:` that no event can ever have.
enum EventNames {
    /// Names that stand alone: the calls without an event or page name.
    static let plain: Set<String> = ["identify", "group", "alias", "delete", "page", "screen"]
    /// Prefixes followed by the call's event or page name.
    static let prefixes = ["track/", "page/", "screen/"]

    /// Why no event can be named `on`, with the name it probably meant; nil when some event can.
    static func whyNeverMatched(_ on: String) -> String? {
        if plain.contains(on) { return nil }
        if let prefix = prefixes.first(where: { on.hasPrefix($0) }) {
            return on.count > prefix.count ? nil : "`on: \(on)` can never match: `\(prefix)` needs the event's name after it, such as `\(prefix)Order Completed`"
        }
        let lowered = on.lowercased()
        if plain.contains(lowered) {
            return "`on: \(on)` can never match: event names are lowercase, write `on: \(lowered)`"
        }
        if let prefix = prefixes.first(where: { lowered.hasPrefix($0) }) {
            return "`on: \(on)` can never match: write `on: \(prefix)\(on.dropFirst(prefix.count))` (the call type in lowercase)"
        }
        return "`on: \(on)` can never match: Herald names a track event `track/<event>`; write `on: track/\(on)` (or page/…, screen/…, identify, group, alias)"
    }
}
