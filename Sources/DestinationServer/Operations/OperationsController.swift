import AutomationEngine
import Hummingbird
import NIOCore
import SegmentSpec

/// `GET /health` and `GET /metrics`, both without authentication.
struct OperationsController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let metrics: HeraldMetrics

    var endpoints: RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.get("health") { _, _ in try await health() }
        routes.get("metrics") { _, _ in metricsText() }
        return routes
    }

    /// 200 `{"status":"ok","database":"ok"}` when the database answers, 503 otherwise.
    func health() async throws -> Response {
        guard await store.isHealthy() else {
            throw HeraldHTTPError.unavailable("the database does not answer", retryAfter: 5)
        }
        return JSONResponse.make(body: ["status": "ok", "database": "ok"])
    }

    func metricsText() -> Response {
        let bytes = metrics.exposition()
        var buffer = ByteBufferAllocator().buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: ResponseBody(byteBuffer: buffer))
    }
}
