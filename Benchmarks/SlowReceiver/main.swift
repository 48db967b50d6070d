// A webhook receiver for `make bench`'s delivery benchmark: answers every POST with 200
// after a fixed delay (a mail API's latency), or never (a dead endpoint that accepts the
// connection and hangs). Prints "listening on <port>" once it accepts connections.
//
// Usage: SlowReceiver [--delay-ms 20] [--hang]
import Foundation
import Hummingbird
import Synchronization

let arguments = CommandLine.arguments
let delay = arguments.firstIndex(of: "--delay-ms").flatMap { Int(arguments[$0 + 1]) } ?? 20
let hangs = arguments.contains("--hang")
let received = Atomic<Int>(0)

let router = Router()
router.post("hook") { request, _ -> Response in
    _ = try await request.body.collect(upTo: 1 << 20)
    received.add(1, ordering: .relaxed)
    try await Task.sleep(for: hangs ? .seconds(3_600) : .milliseconds(delay))
    return Response(status: .ok)
}
let app = Application(
    router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
    onServerRunning: { channel in
        // Unbuffered, so the benchmark reads the port at once.
        FileHandle.standardOutput.write(Data("listening on \(channel.localAddress?.port ?? 0)\n".utf8))
    })
try await app.runService()
