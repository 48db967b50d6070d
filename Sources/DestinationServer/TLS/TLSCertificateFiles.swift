public import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The certificate and key `herald serve --tls-cert --tls-key` serves HTTPS with, read again
/// from their files on SIGHUP (`TLSCertificateReloadService`) so a renewed certificate
/// (Let's Encrypt every 60-90 days) is used without a restart.
///
/// Each new TLS handshake takes the pair loaded last (swift-nio-ssl's per-handshake context
/// callback); connections already open keep theirs.
public final class TLSCertificateFiles: Sendable {
    /// The PEM file with the certificate chain, leaf first.
    public let certificatePath: String
    /// The PEM file with the private key.
    public let privateKeyPath: String

    private struct Loaded: Sendable {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    private let loaded: Mutex<Loaded>

    /// Reads the pair once; throws ``TLSCertificateError`` when either cannot be read.
    public init(certificatePath: String, privateKeyPath: String) throws {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        loaded = Mutex(try Self.read(certificatePath: certificatePath, privateKeyPath: privateKeyPath))
    }

    /// Reads both files again; on success new handshakes use them, on failure the pair in
    /// use stays (a half-written renewal must not take HTTPS down) and the error says why.
    public func reload() throws {
        let fresh = try Self.read(certificatePath: certificatePath, privateKeyPath: privateKeyPath)
        loaded.withLock { $0 = fresh }
    }

    /// The server's TLS configuration: TLS 1.2 or newer, and the pair loaded last for each
    /// handshake.
    var serverConfiguration: TLSConfiguration {
        let current = loaded.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: current.chain.map { .certificate($0) }, privateKey: .privateKey(current.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [self] _, promise in
            let current = loaded.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = current.chain.map { .certificate($0) }
            override.privateKey = .privateKey(current.key)
            promise.succeed(override)
        }
        return configuration
    }

    /// The leaf certificate's serial number in hex, to tell which pair is in use (logs, tests).
    public var serialNumber: String {
        loaded.withLock { $0.chain.first.map { Self.hex($0.serialNumber) } ?? "" }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    private static func read(certificatePath: String, privateKeyPath: String) throws -> Loaded {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw TLSCertificateError("cannot read the certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSCertificateError("\(certificatePath) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw TLSCertificateError("cannot read the private key \(privateKeyPath): \(error)")
        }
        return Loaded(chain: chain, key: key)
    }
}

/// Why a certificate or key could not be used.
public struct TLSCertificateError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, naming the file.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
