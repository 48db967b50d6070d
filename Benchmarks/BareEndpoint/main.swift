// The baseline for `make bench`: a Hummingbird endpoint that answers 200 without doing any work.
// Herald's ingest throughput is quoted as a ratio of this one's, measured in the same run.
import Hummingbird

let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 8090
let router = Router()
router.post("/inbound/segment") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"success":true}"#)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
