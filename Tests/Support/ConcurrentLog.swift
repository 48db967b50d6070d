import Synchronization

/// Values appended by concurrent tasks (requests, traced statements), read back in order.
public final class ConcurrentLog<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])

    /// An empty log.
    public init() {}

    /// Adds `value` at the end.
    public func append(_ value: Element) { storage.withLock { $0.append(value) } }

    /// Everything appended so far.
    public var values: [Element] { storage.withLock { $0 } }

    /// How many values were appended so far.
    public var count: Int { storage.withLock { $0.count } }
}
