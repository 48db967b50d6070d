import Foundation

/// Rewrites a rendered body for open and click tracking: each `http(s)://` link (in an
/// `href`, or bare in text) becomes `<base>/t/c/<token>`, and an HTML body gets an open pixel
/// `<base>/t/o/<token>.gif`. The original links are kept, in order, so a click token can
/// only ever redirect to a link of its own message.
enum LinkTracking {
    /// Characters that end a link in text or markup.
    private static let terminators: Set<Character> = [" ", "\n", "\r", "\t", "\"", "'", "<", ">", "`"]
    /// Trailing characters that are punctuation of the sentence, not part of a bare link.
    private static let trailingPunctuation: Set<Character> = [".", ",", ";", ":", "!", "?", ")"]

    /// The body with its links replaced and, for HTML, the pixel added; and the original links.
    static func rewrite(_ body: String, baseURL: String, token: (TrackingToken.Kind) -> String) -> (body: String, links: [String]) {
        var output = ""
        var links: [String] = []
        var rest = Substring(body)
        while let start = rest.range(of: "http", options: .caseInsensitive) {
            output += rest[..<start.lowerBound]
            let candidate = rest[start.lowerBound...]
            let lower = candidate.prefix(8).lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
                output += candidate.prefix(4)
                rest = candidate.dropFirst(4)
                continue
            }
            var link = candidate.prefix { !terminators.contains($0) }
            while let last = link.last, trailingPunctuation.contains(last) { link = link.dropLast() }
            let text = String(link)
            // `&amp;` in an href means `&`: the redirect goes where a browser would have gone.
            links.append(text.replacingOccurrences(of: "&amp;", with: "&"))
            output += baseURL + "/t/c/" + token(.click(link: links.count - 1))
            rest = candidate[link.endIndex...]
        }
        output += rest
        guard looksLikeHTML(body) else { return (output, links) }
        let pixel = "<img src=\"\(baseURL)/t/o/\(token(.open)).gif\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\">"
        if let close = output.range(of: "</body>", options: [.caseInsensitive, .backwards]) {
            output.insert(contentsOf: pixel, at: close.lowerBound)
        } else {
            output += pixel
        }
        return (output, links)
    }

    /// Whether a body is HTML: it has a tag.
    static func looksLikeHTML(_ body: String) -> Bool {
        body.range(of: "<[a-zA-Z][^>]*>", options: .regularExpression) != nil
    }
}
