import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads the TLS certificate and key when the process gets SIGHUP (what `systemctl reload`
/// and certbot's deploy hooks send), logging the outcome.
struct TLSCertificateReloadService: Service {
    let files: TLSCertificateFiles
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try files.reload()
                logger.info("TLS certificate reloaded", metadata: ["certificate": "\(files.certificatePath)", "serial": "\(files.serialNumber)"])
            } catch {
                logger.error("TLS certificate not reloaded; the previous one stays in use", metadata: ["error": "\(error)"])
            }
        }
    }
}
