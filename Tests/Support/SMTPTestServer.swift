public import Foundation
public import SegmentSpec

#if canImport(Glibc)
import Glibc
#endif

/// A real SMTP server on loopback: Debian's aiosmtpd run by `scripts/smtp-test-server.py`
/// (installed by `make test`), in a child process, with STARTTLS (a certificate made for
/// `localhost` at start) and AUTH required unless told otherwise.
///
/// Scripted answers by recipient: `flaky-…@` gets 451 for the first DATA of each Message-ID,
/// `reject-…@` gets 550 at RCPT TO. Accepted mail lands in ``spool``.
public final class SMTPTestServer: Sendable {
    /// The port it listens on (127.0.0.1).
    public let port: Int
    /// Its folder: the spool, the certificate, its output.
    public let directory: URL
    /// The user name and password it requires (nil: no AUTH).
    public let user: String?
    public let password: String?
    private let process: ChildProcess

    /// The self-signed certificate it presents, for the client to trust.
    public var certificateFile: String { directory.appendingPathComponent("cert.pem").path }
    /// Where accepted messages are written (`<n>.eml` and `<n>.json`).
    public var spool: URL { directory.appendingPathComponent("spool") }
    private var outputFile: URL { directory.appendingPathComponent("output.txt") }

    /// The harness script in this repository.
    public static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/smtp-test-server.py").path
    }

    /// Starts the server and waits until it listens.
    /// - Parameters:
    ///   - tls: offer (and require) STARTTLS.
    ///   - discard: count messages instead of writing them (benchmarks).
    public init(tls: Bool = true, user: String? = "herald", password: String? = "s3cret pass", discard: Bool = false) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.user = user
        self.password = password
        var arguments = [Self.script, "--spool", directory.appendingPathComponent("spool").path]
        if tls { arguments += ["--tls-dir", directory.path] }
        if let user, let password { arguments += ["--user", user, "--password", password] }
        if discard { arguments.append("--discard") }
        let output = directory.appendingPathComponent("output.txt").path
        // Debian's interpreter: python3-aiosmtpd is installed for it, not for another python3 on the PATH.
        // Its standard input is a pipe this object holds: the script exits when it closes.
        process = try ChildProcess("/usr/bin/python3", arguments, standardInput: .pipe, standardOutput: .file(output), standardError: .file(output))
        let deadline = Date().addingTimeInterval(30)
        var found: Int?
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: directory.appendingPathComponent("output.txt"), encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }), let value = Int(line.dropFirst(6)) {
                found = value
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let found else {
            let text = (try? String(contentsOf: directory.appendingPathComponent("output.txt"), encoding: .utf8)) ?? ""
            if process.isRunning { process.terminate() }
            throw SMTPTestServerError.didNotStart(text)
        }
        port = found
    }

    /// What the server printed (its errors included).
    public var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    /// Stops the server; returns what it printed.
    @discardableResult
    public func stop() -> String {
        if process.isRunning {
            process.terminate()
            // The script exits at once on SIGTERM; should it not, it is killed rather than waited for.
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { usleep(10_000) }
            process.send(SIGKILL)
            process.waitUntilExit()
        }
        return output
    }

    /// The messages accepted so far, in order.
    public func messages() -> [ReceivedMail] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: spool.path)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
        return names.compactMap { name in
            let base = spool.appendingPathComponent(String(name.dropLast(4)))
            guard let raw = try? String(contentsOf: base.appendingPathExtension("eml"), encoding: .utf8),
                let envelope = try? String(contentsOf: base.appendingPathExtension("json"), encoding: .utf8),
                let parsed = try? JSONParser.parse(envelope)
            else { return nil }
            return ReceivedMail(raw: raw, envelope: parsed)
        }
    }

    /// Waits (polling, up to `timeout`) until at least `count` messages were accepted.
    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [ReceivedMail] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let received = messages()
            if received.count >= count { return received }
            try await Task.sleep(for: .milliseconds(20))
        }
        return messages()
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }
}

/// One message as the SMTP server received it.
public struct ReceivedMail: Sendable {
    /// The DATA as received (CR LF line ends, dot-stuffing undone by the server).
    public let raw: String
    /// `{mail_from, rcpt_tos, peer, session}`: `session` numbers the connections.
    public let envelope: JSONValue

    /// The header block, folded lines joined.
    public var headers: [(name: String, value: String)] {
        let head = raw.components(separatedBy: "\r\n\r\n").first ?? ""
        var result: [(String, String)] = []
        for line in head.components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), !result.isEmpty {
                result[result.count - 1].1 = (result[result.count - 1].1 + line).trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                result.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
            }
        }
        return result
    }

    /// The first header of `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The decoded bodies of the MIME parts of `contentType` (`text/plain`, `text/html`).
    public func part(_ contentType: String) -> String? {
        let sections = raw.components(separatedBy: "\r\n--")
        for section in sections {
            let pieces = section.components(separatedBy: "\r\n\r\n")
            guard pieces.count >= 2, pieces[0].lowercased().contains("content-type: \(contentType)") else { continue }
            let encoded = pieces[1].components(separatedBy: "\r\n").filter { !$0.hasPrefix("--") }.joined()
            return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) }
        }
        return nil
    }

    /// A header's RFC 2047 encoded words (`=?UTF-8?B?…?=`) decoded.
    /// Space between two encoded words is dropped (RFC 2047 §6.2); other words keep theirs.
    public static func decodeWords(_ value: String) -> String {
        var result = ""
        var previousEncoded = false
        for word in value.split(separator: " ") {
            if word.hasPrefix("=?UTF-8?B?"), word.hasSuffix("?="), let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) {
                if !previousEncoded && !result.isEmpty { result += " " }
                result += String(decoding: data, as: UTF8.self)
                previousEncoded = true
            } else {
                if !result.isEmpty { result += " " }
                result += word
                previousEncoded = false
            }
        }
        return result
    }
}

/// The SMTP server did not start; its output says why (aiosmtpd missing: run `make test`,
/// which installs python3-aiosmtpd).
public enum SMTPTestServerError: Error, CustomStringConvertible {
    case didNotStart(String)

    public var description: String {
        switch self {
        case .didNotStart(let output): "the SMTP test server did not start (is python3-aiosmtpd installed? `make test` installs it): \(output)"
        }
    }
}
