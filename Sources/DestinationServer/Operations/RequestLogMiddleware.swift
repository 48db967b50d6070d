import Hummingbird
import Logging

/// Logs one line per request (never a key or a payload) and counts it in the metrics.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: HeraldMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        let status: Int
        do {
            let response = try await next(request, context)
            status = Int(response.status.code)
            finish(request, context, status: status, duration: clock.now - start)
            return response
        } catch let error as any HTTPResponseError {
            finish(request, context, status: Int(error.status.code), duration: clock.now - start)
            throw error
        } catch {
            finish(request, context, status: 500, duration: clock.now - start)
            throw error
        }
    }

    private func finish(_ request: Request, _ context: Context, status: Int, duration: Duration) {
        let route = context.endpointPath ?? "unmatched"
        metrics.recordRequest(route: route, status: status, duration: duration)
        if context.logger.logLevel <= .info {
            let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
            context.logger.info("\(request.method) \(request.uri.path) \(status) \(micros)µs")
        }
    }
}
