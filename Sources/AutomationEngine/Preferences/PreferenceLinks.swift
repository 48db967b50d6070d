public import Foundation
import Synchronization

/// Where recipients reach their preferences: the server's public base URL, to which the
/// preference page (`/p/<token>`) and the one-click unsubscribe (`/p/<token>/one-click`)
/// are relative.
///
/// Set from `herald serve --public-url` (or `HERALD_PUBLIC_URL`); otherwise the address the
/// server listens on once it is known, which only a recipient on the same network can reach.
public final class PreferenceLinks: Sendable {
    private let base = Mutex<String?>(nil)

    /// Links relative to `baseURL` (`https://herald.example.com`), or to nothing yet.
    public init(baseURL: String? = nil) {
        base.withLock { $0 = baseURL.map(Self.trimmed) }
    }

    /// The base URL, if known.
    public var baseURL: String? { base.withLock { $0 } }

    /// Sets the base URL unless one was given.
    public func useIfUnset(_ baseURL: String) {
        base.withLock { if $0 == nil { $0 = Self.trimmed(baseURL) } }
    }

    /// The preference page of the recipient of `token`.
    public func pageURL(token: String) -> String? {
        baseURL.map { "\($0)/p/\(token)" }
    }

    /// The RFC 8058 one-click unsubscribe link: a POST to it unsubscribes the recipient from
    /// `topic` (every topic when nil) on `channel`.
    public func oneClickURL(token: String, topic: String?, channel: String) -> String? {
        guard let base = baseURL else { return nil }
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "topic", value: topic ?? PreferenceChoice.all), URLQueryItem(name: "channel", value: channel)]
        return "\(base)/p/\(token)/one-click?\(components.percentEncodedQuery ?? "")"
    }

    private static func trimmed(_ url: String) -> String {
        var text = url.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}
