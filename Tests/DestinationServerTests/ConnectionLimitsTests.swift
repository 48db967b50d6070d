import AutomationEngine
import DestinationServer
import Foundation
import Testing

@Suite("Connections: a stalled one is closed after the idle timeout")
struct ConnectionLimitsTests {
    /// Sends `text` on a new connection to a server whose idle timeout is 1 s, then waits;
    /// returns what the server sent before closing, and how long it took to close.
    static func stall(after text: String) async throws -> (answer: String, waited: Duration, stored: Int) {
        try await LiveHerald.run(configure: { $0.idleTimeout = .seconds(1) }) { herald in
            let connection = try RawConnection(port: herald.port)
            defer { connection.close() }
            connection.send(text)
            let clock = ContinuousClock()
            let start = clock.now
            let answer = await connection.readUntilClosed()
            return (answer, clock.now - start, try await herald.store.eventCount())
        }
    }

    @Test("a client that sends half a request head, or half a body, and stalls is disconnected after the idle timeout", arguments: [
        "POST /inbound/segment HTTP/1.1\r\nHost: localhost\r\n",
        "POST /inbound/segment HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"type\":",
    ])
    func stalledConnectionIsClosed(text: String) async throws {
        let (answer, waited, stored) = try await Self.stall(after: text)
        // Closed by the server for idling (its read would otherwise wait 60 s), not answered.
        #expect(answer.isEmpty, "\(answer)")
        #expect(waited >= .milliseconds(500) && waited < .seconds(20), "closed after \(waited)")
        #expect(stored == 0)
    }
}

@Suite("herald serve holds no more connections than its open-files limit allows")
struct ServeConnectionLimitTests {
    @Test("under a limit of 300 open files it takes 44 connections; the next waits until one closes, and the server lives")
    func connectionsCappedByOpenFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-connections-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try HeraldProcess(database: directory.appendingPathComponent("herald.sqlite").path, openFilesLimit: 300)
        #expect(server.output.contains("Connections: up to 44 at once (open files limit 300); a connection idle for 30 s is closed"))
        // Each of the 44 is answered before the next one connects, so the server accepts them
        // one per read however loaded the machine is (a burst of connects can overshoot by a few).
        let health = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
        var connections: [RawConnection] = []
        defer { connections.forEach { $0.close() } }
        for index in 0..<44 {
            let connection = try RawConnection(port: server.port, readTimeout: 10)
            connections.append(connection)
            connection.send(health)
            let answer = await connection.readSome()
            #expect(answer.hasPrefix("HTTP/1.1 200"), "connection \(index + 1) of 44 was not served: \(answer)")
        }
        for _ in 44..<48 {
            connections.append(try RawConnection(port: server.port, readTimeout: 2))
        }
        let waiting = connections[47]
        waiting.send(health)
        #expect(await waiting.readSome().isEmpty, "the 48th connection was served while 44 were open")
        // Closing some lets the waiting ones in, and the server answers them.
        connections.prefix(8).forEach { $0.close() }
        connections.removeFirst(8)
        var answer = ""
        for _ in 0..<10 where answer.isEmpty { answer = await waiting.readSome() }  // 2 s per read, 20 s at most
        #expect(answer.hasPrefix("HTTP/1.1 200"), "the waiting connection was not served once others closed: \(answer)")
        #expect(server.terminate() == 0)
    }
}
