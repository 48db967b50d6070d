import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Renders the web page's Mustache templates (shipped as resources in `Resources/web`)
/// inside the shared layout. `{{x}}` escapes HTML, so event data can never inject markup.
struct WebPageRenderer: Sendable {
    /// Rows, names, runs or messages on one page of a list; the rest are a link away.
    static let pageSize = 100
    private let library: MustacheLibrary
    /// The stylesheet and script, served from memory.
    let assets: [String: (contentType: String, bytes: ByteBuffer)]

    /// Reads every template and asset once, at start.
    init() {
        var templates: [String: MustacheTemplate] = [:]
        var assets: [String: (String, ByteBuffer)] = [:]
        let directory = Bundle.module.url(forResource: "web", withExtension: nil)
        let files = directory.flatMap { try? FileManager.default.contentsOfDirectory(at: $0, includingPropertiesForKeys: nil) } ?? []
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            switch file.pathExtension {
            case "mustache":
                // A template that does not parse is a packaging bug; `page` then says the template is missing instead of crashing.
                if let template = try? MustacheTemplate(string: text) { templates[file.deletingPathExtension().lastPathComponent] = template }
            case "css": assets[file.lastPathComponent] = ("text/css; charset=utf-8", ByteBuffer(string: text))
            case "js": assets[file.lastPathComponent] = ("text/javascript; charset=utf-8", ByteBuffer(string: text))
            default: break
            }
        }
        library = MustacheLibrary(templates: templates)
        self.assets = assets
    }

    /// A full page: `template` rendered with `context`, inside the layout.
    func page(_ template: String, title: String, context: [String: Any], session: WebPageSession?, nav: String? = nil,
              flash: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
        let content = library.render(context, withTemplate: template) ?? "The page template \(template) is missing from this installation."
        var layout: [String: Any] = ["title": title, "content": content]
        if let session {
            layout["signedIn"] = true
            layout["csrf"] = session.csrfToken
            layout["workspace"] = session.workspace
        }
        if let nav { layout["nav"] = [nav: true] }
        if let flash { layout["flash"] = flash }
        return Self.html(library.render(layout, withTemplate: "layout") ?? content, status: status)
    }

    /// A fragment without the layout (rows the event list adds live).
    func fragment(_ template: String, context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? ""
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: securityHeaders(contentType: "text/html; charset=utf-8"), body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Headers of every page: no caching of workspace data, no framing, scripts only from Herald.
    static func securityHeaders(contentType: String) -> HTTPFields {
        [
            .contentType: contentType, .cacheControl: "no-store",
            HTTPField.Name("Content-Security-Policy")!: "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
    }
}

/// What the layout needs of a signed-in session.
struct WebPageSession {
    let workspace: String
    let csrfToken: String
}
