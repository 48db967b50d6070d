import AutomationEngine
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SegmentSpec

/// Open and click tracking, without a session:
/// - `GET /t/c/{token}`: records `clicked` for the token's message and redirects (302) to the
///   message's own link the token names; never anywhere else (not an open redirect).
/// - `GET /t/o/{token}.gif`: records `opened` and answers a transparent 1×1 GIF.
///
/// A token is HMAC-signed (``TrackingToken``): a forged or altered one, or one naming a link
/// the message does not have, is 404. The first open and the first click of a message are
/// recorded and sent to Segment; later ones are counted.
struct TrackingController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage

    /// The smallest transparent GIF.
    static var pixel: [UInt8] {
        [0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04,
         0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B]
    }

    func add(to router: Router<Context>) {
        router.get("/t/c/{token}") { _, context in
            let text = context.parameters.get("token") ?? ""
            guard let token = TrackingToken(verifying: text, key: try await store.trackingKey()), case .click(let index) = token.kind,
                  let link = try await store.trackedLink(messageId: token.messageId, index: index)
            else { throw HeraldHTTPError(.notFound, "no such link") }
            _ = try await store.recordReport(.clicked(url: link.url), messageId: token.messageId, workspace: link.workspace, at: Timestamp(Date()))
            return Response(status: .found, headers: [.location: link.url, .cacheControl: "no-store"])
        }
        router.get("/t/o/{token}") { _, context in
            var text = context.parameters.get("token") ?? ""
            guard text.hasSuffix(".gif") else { throw HeraldHTTPError(.notFound, "no such image") }
            text.removeLast(4)
            guard let token = TrackingToken(verifying: text, key: try await store.trackingKey()), token.kind == .open,
                  let workspace = try await store.trackedMessageWorkspace(id: token.messageId)
            else { throw HeraldHTTPError(.notFound, "no such image") }
            _ = try await store.recordReport(.opened, messageId: token.messageId, workspace: workspace, at: Timestamp(Date()))
            return Response(
                status: .ok, headers: [.contentType: "image/gif", .cacheControl: "no-store, max-age=0"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: Self.pixel)))
        }
    }
}
