import AsyncHTTPClient
import Foundation
import HeraldTestSupport
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `herald serve --tls-cert --tls-key`: HTTPS in the binary, the certificate read again on
/// SIGHUP. Certificates are made by the test with the openssl command line.
@Suite("HTTPS in the binary")
struct TLSTests {
    /// Writes a self-signed certificate for 127.0.0.1 and localhost, and its key, to these paths.
    static func makeCertificate(certificate: String, key: String, serial: String) throws {
        let process = try ChildProcess("/usr/bin/env", [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=herald-test", "-set_serial", serial,
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        #expect(process.terminationStatus == 0, "openssl could not make a test certificate")
    }

    /// POSTs one event over HTTPS with a fresh client (no pooled connection) that trusts only `trusted`.
    static func post(port: Int, key: String, trusting trusted: [NIOSSLCertificate]) async throws -> Int {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(trusted)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
        do {
            var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/inbound/segment")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Basic " + Data("\(key):".utf8).base64EncodedString())
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: Payloads.track(UUID().uuidString, userId: "tls")))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 16)
            try await client.shutdown()
            return Int(response.status.code)
        } catch {
            try await client.shutdown()
            throw error
        }
    }

    @Test("serves HTTPS with the given certificate; after SIGHUP new connections get the renewed one")
    func httpsAndReload() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("herald-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        try Self.makeCertificate(certificate: certificate, key: key, serial: "0x0A")
        let first = try NIOSSLCertificate.fromPEMFile(certificate)

        let database = folder.appendingPathComponent("herald.sqlite").path
        let created = try HeraldProcess.runToCompletion(["keys", "create", "--workspace", "default", "--scope", "ingest", "--db", database])
        let ingestKey = try #require(created.output.split(separator: "\n").last.map(String.init))
        let server = try HeraldProcess(database: database, extraArguments: ["--tls-cert", certificate, "--tls-key", key])
        #expect(server.output.contains("Listening on https://127.0.0.1:\(server.port)"))
        #expect(server.output.contains("TLS: \(certificate) (serial 0a); SIGHUP reloads it"))

        #expect(try await Self.post(port: server.port, key: ingestKey, trusting: first) == 200)

        // Renewed: new files in place, then SIGHUP (what certbot's deploy hook sends).
        try Self.makeCertificate(certificate: certificate, key: key, serial: "0x0B")
        let renewed = try NIOSSLCertificate.fromPEMFile(certificate)
        server.signal(SIGHUP)
        // Waits (up to 10 s) for the reload, polling: no timing is asserted.
        var reloaded = false
        for _ in 0..<100 where !reloaded {
            reloaded = (try? await Self.post(port: server.port, key: ingestKey, trusting: renewed)) == 200
            if !reloaded { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(reloaded, "the renewed certificate was not served after SIGHUP")
        #expect(server.process.isRunning)
        // A client that trusts only the old certificate is refused on a new connection.
        await #expect(throws: (any Error).self) { _ = try await Self.post(port: server.port, key: ingestKey, trusting: first) }

        // A broken pair keeps the one in use.
        try "not a certificate".write(toFile: certificate, atomically: true, encoding: .utf8)
        server.signal(SIGHUP)
        #expect(try await Self.post(port: server.port, key: ingestKey, trusting: renewed) == 200)
        #expect(server.terminate() == 0)
    }

    @Test("a certificate that cannot be read stops serve with a message naming the file")
    func unreadableCertificate() throws {
        let result = try HeraldProcess.runToCompletionWithError(["serve", "--db", "/tmp/unused-\(UUID().uuidString).sqlite", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"])
        #expect(result.status != 0)
        #expect(result.errorOutput.contains("cannot read the certificate /nonexistent/cert.pem"))
        let half = try HeraldProcess.runToCompletionWithError(["serve", "--tls-cert", "/nonexistent/cert.pem"])
        #expect(half.errorOutput.contains("--tls-cert and --tls-key go together"))
    }
}
