import Foundation
import HeraldTestSupport

/// Clients posting fresh track events to a live server until stopped, each recording the
/// messageIds it was answered 200 for: the load under which backup and retention must lose
/// nothing acknowledged.
final class ContinuousIngest: Sendable {
    /// MessageIds answered 200, in the order the answers came.
    let acknowledged = ConcurrentLog<String>()
    private let stopped = ConcurrentLog<Bool>()
    private let senders: Task<Void, Never>

    /// Starts `clients` senders posting events named `<prefix>-<client>-<n>` with `key`.
    init(port: Int, key: String, clients: Int = 16, prefix: String) {
        let acknowledged = acknowledged
        let stopped = stopped
        senders = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var n = 0
                        while stopped.count == 0 {
                            let messageId = "\(prefix)-\(client)-\(n)"
                            n += 1
                            if (try? await DurabilityTests.post(port: port, key: key, messageId: messageId)) == 200 { acknowledged.append(messageId) }
                        }
                    }
                }
            }
        }
    }

    /// Waits until at least `count` events were acknowledged in all.
    func waitForAcknowledged(_ count: Int) async throws {
        while acknowledged.count < count { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// Stops the senders and waits for their last requests.
    func stop() async {
        stopped.append(true)
        await senders.value
    }
}
