import AsyncHTTPClient
import Foundation
import HeraldTestSupport
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// A real headless Chromium driven through chromedriver's W3C WebDriver protocol (JSON over
/// HTTP), for the web page's end-to-end test. `make test` installs Debian's chromium and
/// chromium-driver; without them the test fails and says how to install them.
final class WebDriver {
    private var driver: ChildProcess?
    private let base: String
    private var session = ""

    /// Where screenshots go (kept out of git by `.build/`).
    static let screenshotDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/web-screenshots")

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Starts chromedriver on a free port and opens a headless browser session.
    init() async throws {
        let chromedriver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromedriver, FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") else {
            throw Failure(description: "chromium and chromedriver are needed: run `make test` (it installs them) or `apt-get install -y chromium chromium-driver`")
        }
        let port = Int.random(in: 20_000..<40_000)
        base = "http://127.0.0.1:\(port)"
        driver = try ChildProcess(chromedriver, ["--port=\(port)"])
        var ready = false
        for _ in 0..<100 where !ready {
            ready = (try? await call(.GET, "/status"))?["ready"] == true
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard ready else { throw Failure(description: "chromedriver did not start on port \(port)") }
        let capabilities = #"""
            {"capabilities":{"alwaysMatch":{"browserName":"chrome","goog:chromeOptions":{"binary":"/usr/bin/chromium",
             "args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--window-size=1280,900"]}}}}
            """#
        let created = try await call(.POST, "/session", body: capabilities)
        guard let id = created["sessionId"]?.stringValue else { throw Failure(description: "no browser session: \(created.encodedString())") }
        session = id
    }

    /// Closes the browser and stops chromedriver.
    func quit() async {
        _ = try? await call(.DELETE, "/session/\(session)")
        driver?.terminate()
        if await driver?.waitForExit(timeout: .seconds(5)) == nil { driver?.send(SIGKILL) }
    }

    func open(_ url: String) async throws {
        _ = try await call(.POST, "/session/\(session)/url", body: JSONValue.object(JSONObject([("url", .string(url))])).encodedString())
    }

    /// The element matching a CSS selector, or nil.
    func element(_ selector: String) async throws -> String? {
        let body = JSONValue.object(JSONObject([("using", "css selector"), ("value", .string(selector))])).encodedString()
        guard let found = try? await call(.POST, "/session/\(session)/element", body: body) else { return nil }
        return found.objectValue?.members.first?.value.stringValue
    }

    func type(_ text: String, into selector: String) async throws {
        guard let element = try await element(selector) else { throw Failure(description: "no element \(selector)") }
        _ = try await call(.POST, "/session/\(session)/element/\(element)/value", body: JSONValue.object(JSONObject([("text", .string(text))])).encodedString())
    }

    /// Empties a text field or textarea.
    func clear(_ selector: String) async throws {
        guard let element = try await element(selector) else { throw Failure(description: "no element \(selector)") }
        _ = try await call(.POST, "/session/\(session)/element/\(element)/clear", body: "{}")
    }

    /// Resizes the window (a phone is about 390 × 844).
    func resize(width: Int, height: Int) async throws {
        _ = try await call(.POST, "/session/\(session)/window/rect", body: #"{"width":\#(width),"height":\#(height)}"#)
    }

    func click(_ selector: String) async throws {
        guard let element = try await element(selector) else { throw Failure(description: "no element \(selector)") }
        _ = try await call(.POST, "/session/\(session)/element/\(element)/click", body: "{}")
    }

    /// The visible text of the page's body.
    func text() async throws -> String {
        guard let body = try await element("body") else { return "" }
        return try await call(.GET, "/session/\(session)/element/\(body)/text").stringValue ?? ""
    }

    /// Whether `selector` currently matches an element that is displayed.
    func isDisplayed(_ selector: String) async throws -> Bool {
        guard let element = try await element(selector) else { return false }
        return try await call(.GET, "/session/\(session)/element/\(element)/displayed") == true
    }

    var currentURL: String { get async throws { try await call(.GET, "/session/\(session)/url").stringValue ?? "" } }

    /// Polls until the page's text contains `text` (no reload), up to `seconds`.
    func waitForText(_ text: String, seconds: Int = 10) async throws -> Bool {
        for _ in 0..<(seconds * 10) {
            // The page may be navigating: a stale element just means "look again".
            if (try? await self.text())?.contains(text) == true { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Saves a PNG of the window as `<name>.png` in ``screenshotDirectory``; returns its path.
    @discardableResult
    func screenshot(_ name: String) async throws -> URL {
        let encoded = try await call(.GET, "/session/\(session)/screenshot").stringValue ?? ""
        guard let data = Data(base64Encoded: encoded) else { throw Failure(description: "no screenshot data") }
        try FileManager.default.createDirectory(at: Self.screenshotDirectory, withIntermediateDirectories: true)
        let file = Self.screenshotDirectory.appendingPathComponent("\(name).png")
        try data.write(to: file)
        return file
    }

    /// One WebDriver command; returns its `value`.
    private func call(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 32 << 20)
        let json = try JSONParser.parse(Array(buffer: bytes))
        guard response.status == .ok else { throw Failure(description: "WebDriver \(method) \(path): \(json["value"]?["message"]?.stringValue ?? "\(response.status)")") }
        return json["value"] ?? .null
    }
}
