import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A real webhook receiver on a loopback port for delivery tests: answers each request after
/// `delay` (or holds it until ``release()`` when it hangs), with the scripted statuses, and
/// remembers every request and how many were in flight at once.
final class DeliveryReceiver: Sendable {
    struct Request: Sendable {
        let idempotencyKey: String
        let at: ContinuousClock.Instant
        let status: Int
    }

    private struct State {
        var script: [Int]
        var requests: [Request] = []
        var inFlight = 0
        var maximumInFlight = 0
        var released = false
    }

    private let state: Mutex<State>
    private let delay: Duration
    private let hangs: Bool

    /// - Parameters:
    ///   - answers: statuses for the first requests, in order; 200 after them.
    ///   - delay: how long each answer takes.
    ///   - hangs: hold every request until ``release()``.
    init(answers: [Int] = [], delay: Duration = .zero, hangs: Bool = false) {
        state = Mutex(State(script: answers))
        self.delay = delay
        self.hangs = hangs
    }

    var requests: [Request] { state.withLock { $0.requests } }
    var maximumInFlight: Int { state.withLock { $0.maximumInFlight } }
    var inFlight: Int { state.withLock { $0.inFlight } }
    /// Distinct idempotency keys answered with a 2xx.
    var acceptedKeys: Set<String> { Set(requests.filter { (200..<300).contains($0.status) }.map(\.idempotencyKey)) }

    /// Lets held requests finish (a hanging receiver must be released before the test ends).
    func release() { state.withLock { $0.released = true } }

    func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let router = Router()
        router.post("hook") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            self.state.withLock { state in
                state.inFlight += 1
                state.maximumInFlight = max(state.maximumInFlight, state.inFlight)
            }
            if self.hangs {
                while !self.state.withLock({ $0.released }) { try? await Task.sleep(for: .milliseconds(20)) }
            } else if self.delay > .zero {
                try? await Task.sleep(for: self.delay)
            }
            let status = self.state.withLock { state -> Int in
                state.inFlight -= 1
                let status = state.script.isEmpty ? 200 : state.script.removeFirst()
                state.requests.append(Request(
                    idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!] ?? "", at: .now, status: status))
                return status
            }
            return Response(status: .init(code: status))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        return try await app.test(.live) { client in
            // Held requests end before the receiver shuts down, which waits for them.
            defer { self.release() }
            return try await body(try #require(client.port))
        }
    }
}
