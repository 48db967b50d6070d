import AsyncHTTPClient
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import SegmentSpec
import Testing

/// `herald serve --log-format json`: every line the server prints is one JSON record, and a
/// request's line carries its request id.
@Suite("JSON logs for log shippers")
struct LogFormatTests {
    @Test("with --log-format json every output line parses as a record with time, level, label and message; request lines carry hb.request.id")
    func jsonLines() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-logs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("herald.sqlite").path
        let server = try HeraldProcess(database: database, extraArguments: ["--log-format", "json", "--log-level", "info"])
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/health")
        request.headers.add(name: "X-Test", value: "log-format")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok)
        // The request line is written after the response: wait for it.
        var records: [JSONObject] = []
        for _ in 0..<100 {
            records = server.output.split(separator: "\n").compactMap { try? JSONParser.parse(String($0)).objectValue }
            if records.contains(where: { $0["message"]?.stringValue?.hasPrefix("GET /health 200") == true }) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(server.terminate() == 0)
        let lines = server.output.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        for line in lines {
            let record = try? JSONParser.parse(line).objectValue
            #expect(record != nil, "not a JSON record: \(line)")
            for field in ["time", "level", "label", "message"] {
                #expect(record?[field]?.stringValue?.isEmpty == false, "no \(field) in \(line)")
            }
        }
        let startup = records.first { $0["message"]?.stringValue?.hasPrefix("Listening on http://") == true }
        #expect(startup?["level"]?.stringValue == "notice")
        let requestLine = try #require(records.first { $0["message"]?.stringValue?.hasPrefix("GET /health 200") == true })
        #expect(requestLine["level"]?.stringValue == "info")
        #expect(requestLine["hb.request.id"]?.stringValue?.isEmpty == false)
        #expect(requestLine["time"]?.stringValue?.hasSuffix("Z") == true)
    }

    @Test("an unknown --log-format is refused before anything starts, naming the choices")
    func unknownFormat() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-logs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try HeraldProcess.runToCompletionWithError(["serve", "--log-format", "xml", "--db", directory.appendingPathComponent("h.sqlite").path])
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("xml is not text or json"))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("h.sqlite").path))
    }
}
