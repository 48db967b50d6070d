import Hummingbird
import Logging

/// Makes every error answer JSON `{"message": ...}`: Hummingbird's own errors (404 for an
/// unknown path, 405...) get a message that says what exists, and an unexpected error
/// becomes a 503 asking the client to retry (Segment retries 5xx) instead of an empty 500.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HeraldHTTPError {
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound {
                throw HeraldHTTPError(
                    .notFound,
                    "no endpoint \(request.method) \(request.uri.path); Segment traffic goes to POST /inbound/segment or POST /v1/<call>",
                    headers: error.headers)
            }
            throw HeraldHTTPError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        } catch {
            context.logger.error("request failed unexpectedly", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw HeraldHTTPError.unavailable("Herald could not process the request; retry shortly", retryAfter: 5)
        }
    }
}
