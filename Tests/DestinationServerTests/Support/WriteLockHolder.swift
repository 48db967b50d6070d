import Dispatch
import Foundation
import GRDB
import Synchronization

/// Another connection holding SQLite's write lock on a database file, the way a second
/// process writing to it would: Herald's writer waits for it (then, past its busy timeout,
/// fails) until `release()`.
final class WriteLockHolder: Sendable {
    private let released = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// Returns once the lock is held.
    init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)  // Herald's own writer may be committing right now
        let connection = try DatabaseQueue(path: path, configuration: configuration)
        let locked = DispatchSemaphore(value: 0)
        let failure = Mutex<(any Error)?>(nil)
        // Its own thread: the connection blocks while it holds the lock.
        Thread.detachNewThread { [released, finished] in
            do {
                try connection.writeWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    locked.signal()
                    released.wait()
                    try db.execute(sql: "COMMIT")
                }
            } catch {
                failure.withLock { $0 = error }
                locked.signal()  // BEGIN failed: init must not wait for a lock never taken
            }
            finished.signal()
        }
        locked.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Commits the empty transaction, freeing the lock.
    func release() {
        released.signal()
        finished.wait()
    }
}
