/// The destination settings Segment sends with each request (`X-Segment-Settings`).
public enum SegmentSettings {
    /// What replaces a credential.
    public static let redacted = "[redacted]"

    /// The settings with credentials replaced by `"[redacted]"`, at any depth: Segment puts the
    /// destination's credentials there, and Herald stores and shows the settings.
    ///
    /// Redacted, going by the member's name in any case and spelling (`api_key`, `API-Key`,
    /// `apiKey`, `APIKEY`): the value of anything key-, secret-, token-, password-, auth-,
    /// credential-, bearer- or signature-like (also `pass`, `pwd`, `sig`, `hmac`, `jwt`,
    /// `cookie`, `dsn`, `connectionString`), unless it is null or a Boolean (a flag such as
    /// `useToken: true` is no secret); the `value` of a `{"key"|"name"|"header": <such a
    /// name>, "value": ...}` pair (Webhooks' header lists); and inside any string, the user
    /// and password of a URL (`https://user:pass@host` becomes `https://[redacted]@host`),
    /// the values of credential-like query parameters (`?api_key=...`), and the rest of an
    /// `Authorization` value (`Bearer ...`, `Basic ...`).
    public static func redactingCredentials(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            let pairValueIsCredential = object.members.contains { member in
                ["key", "name", "header"].contains(member.key.lowercased()) && member.value.stringValue.map(isCredentialName) == true
            }
            return .object(JSONObject(members: object.members.map { member in
                let credential = isCredentialName(member.key) || (pairValueIsCredential && member.key.lowercased() == "value")
                return JSONObject.Member(key: member.key, value: credential ? redactingWhole(member.value) : redactingCredentials(member.value))
            }))
        case .array(let items):
            return .array(items.map(redactingCredentials))
        case .string(let text):
            return .string(redactingCredentials(inText: text))
        default:
            return value
        }
    }

    /// A credential's value: gone, unless it tells nothing (null, a Boolean flag).
    private static func redactingWhole(_ value: JSONValue) -> JSONValue {
        switch value {
        case .null, .bool: return value
        default: return .string(redacted)
        }
    }

    /// Words that make a name a credential wherever they appear in it, once lowercased and
    /// stripped of separators (`client_secret`, `accessToken`, `oauth`, `x-api-key`).
    private static let credentialFragments = [
        "key", "secret", "token", "password", "passwd", "passphrase", "passcode", "pwd", "credential", "auth", "bearer",
        "signature", "connectionstring", "cookie",
    ]

    /// Words that make a name a credential only as a word of their own (`sig`, `db_pass`,
    /// `smtpPw`): as fragments they occur in ordinary names (`design`, `compass`).
    private static let credentialWords: Set<String> = ["pass", "pw", "pswd", "sig", "sigs", "hmac", "jwt", "dsn", "otp", "pin"]

    /// Whether a settings member of this name holds a credential.
    public static func isCredentialName(_ name: String) -> Bool {
        let words = self.words(of: name)
        if words.contains(where: credentialWords.contains) { return true }
        // `author`/`authored` are no credential; `authorization`, `authorize`, `oauth` are.
        let joined = words.joined().replacing("authoriz", with: "authz").replacing("author", with: "")
        return credentialFragments.contains { joined.contains($0) }
    }

    /// The lowercased words of a name: split at anything that is not a letter or digit and
    /// where camelCase starts a word (`APIKey` -> api, key; `webhookURL` -> webhook, url).
    static func words(of name: String) -> [String] {
        var words: [String] = []
        var current: [Character] = []
        let characters = Array(name)
        func flush() {
            if !current.isEmpty { words.append(String(current).lowercased()) }
            current = []
        }
        for (index, character) in characters.enumerated() {
            guard character.isLetter || character.isNumber else {
                flush()
                continue
            }
            if character.isUppercase, let previous = current.last {
                let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
                if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) { flush() }
            }
            current.append(character)
        }
        flush()
        return words
    }

    /// A string with the credentials it may carry removed: a URL's user and password, the
    /// values of credential-like query parameters, an `Authorization` value's credentials.
    static func redactingCredentials(inText text: String) -> String {
        // An Authorization value: a scheme and one long word ("Basic plan" is no credential).
        for scheme in ["bearer ", "basic ", "token "] where text.lowercased().hasPrefix(scheme) {
            let credential = text.dropFirst(scheme.count)
            if credential.count >= 8, !credential.contains(where: \.isWhitespace) { return String(text.prefix(scheme.count)) + redacted }
        }
        guard text.contains("://") || text.contains("?") else { return text }
        var result = ""
        var rest = Substring(text)
        // Every URL in the text, e.g. a list of endpoints separated by commas.
        while let schemeEnd = rest.firstRange(of: "://") {
            result += rest[..<schemeEnd.upperBound]
            rest = rest[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex { "/?#".contains($0) || $0.isWhitespace || $0 == "," } ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                result += redacted
                rest = rest[at...]
            }
        }
        result += rest
        return redactingQueryCredentials(result)
    }

    /// `name=value` pairs after a `?` (or `&`, `;`) whose name is credential-like get their value redacted.
    private static func redactingQueryCredentials(_ text: String) -> String {
        guard let question = text.firstIndex(of: "?") else { return text }
        var result = String(text[...question])
        var rest = text[text.index(after: question)...]
        while !rest.isEmpty {
            let end = rest.firstIndex { "&;#".contains($0) || $0.isWhitespace } ?? rest.endIndex
            let pair = rest[..<end]
            if let equals = pair.firstIndex(of: "="), isCredentialName(String(pair[..<equals]).removingPercentEncodingLossy) {
                result += pair[...equals] + redacted
            } else {
                result += pair
            }
            guard end < rest.endIndex else { break }
            result.append(rest[end])
            if rest[end] == "#" || rest[end].isWhitespace {
                // The fragment or the text after the URL: may hold another URL's query.
                result += redactingQueryCredentials(String(rest[rest.index(after: end)...]))
                return result
            }
            rest = rest[rest.index(after: end)...]
        }
        return result
    }
}

extension String {
    /// `%5F` read as `_` (so `api%5Fkey` is recognised); the text itself when it is not valid percent-encoding.
    fileprivate var removingPercentEncodingLossy: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return self }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
