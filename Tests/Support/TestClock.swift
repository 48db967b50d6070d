public import SegmentSpec
import Synchronization

/// A clock the test moves by hand, so delays and backoffs never sleep.
public final class TestClock: Sendable {
    private let current: Mutex<Timestamp>

    /// A clock reading `start`.
    public init(start: Timestamp) {
        current = Mutex(start)
    }

    /// The time now.
    public var now: Timestamp { current.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(_ duration: Duration) {
        current.withLock {
            $0 = Timestamp(millisecondsSince1970: $0.millisecondsSince1970 + duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
    }
}
