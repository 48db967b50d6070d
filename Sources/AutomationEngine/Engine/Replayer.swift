public import Foundation
public import SegmentSpec

/// Re-evaluates stored events against the workspace's current configuration, e.g. after a
/// new mapping was added for events that already arrived.
///
/// Only events the engine has already processed are replayed (the live engine handles the
/// rest, once). Replaying is idempotent: an automation already started for an event is not started
/// again (so nothing already sent is sent again), `once_per` still holds, profiles are not
/// updated a second time and `cancel` mappings are not re-applied. A dry run does the same
/// inside transactions that are rolled back and reports what would start.
public struct Replayer: Sendable {
    /// Most events one replay considers; narrow the time range for more.
    public static let maximumEvents = 10_000
    private let store: any EngineStorage
    private let now: @Sendable () -> Timestamp

    /// - Parameter now: the clock (tests pass a fixed one).
    public init(store: HeraldStore, now: @escaping @Sendable () -> Timestamp = { Timestamp(Date()) }) {
        self.store = store
        self.now = now
    }

    /// Replays the workspace's events received in `[from, to)` (open ends when nil).
    public func replay(workspace: String, from: Timestamp?, to: Timestamp?, dryRun: Bool) async throws -> ReplayReport {
        let time = now()
        let processor = EventProcessor(storage: store, now: { time })
        var report = ReplayReport(dryRun: dryRun)
        var cursor: Int64 = 0
        // Chunks keep each write transaction short, so ingest is never held up for long.
        while true {
            // One row more than is evaluated tells whether the range holds more.
            let take = min(500, Self.maximumEvents - report.eventsConsidered)
            let after = cursor
            let (considered, last, entries) = try await store.replayEventEffects(keep: !dryRun) { effects in
                let events = try effects.processedEvents(workspace: workspace, after: after, receivedFrom: from, to: to, limit: take + 1)
                var entries: [ReplayReport.Entry] = []
                for stored in events.prefix(take) {
                    let trace = try processor.evaluate(stored, at: time, replay: true, effects)
                    guard trace.hasMappingChecks else { continue }
                    entries.append(ReplayReport.Entry(
                        seq: stored.seq, messageId: stored.messageId, name: stored.name, explain: trace.json,
                        started: trace.runs.filter { $0.state == "pending" }.map(\.automation)))
                }
                return (events.count, events.prefix(take).last?.seq, entries)
            }
            report.eventsConsidered += min(considered, take)
            report.events += entries
            guard considered > take, let last else { break }
            if report.eventsConsidered >= Self.maximumEvents {
                report.truncated = true
                break
            }
            cursor = last
        }
        return report
    }
}

/// What a replay did, or would do.
public struct ReplayReport: Sendable {
    /// Whether nothing was changed.
    public let dryRun: Bool
    /// How many stored events were re-evaluated.
    public internal(set) var eventsConsidered = 0
    /// The events that have mappings, with what replaying them did.
    public internal(set) var events: [Entry] = []
    /// True when the range held more than ``Replayer/maximumEvents`` processed events.
    public internal(set) var truncated = false

    init(dryRun: Bool) { self.dryRun = dryRun }

    /// Runs started (or that a dry run would start).
    public var runsStarted: Int { events.reduce(0) { $0 + $1.started.count } }

    /// One replayed event that has mappings.
    public struct Entry: Sendable {
        /// The event's position in the log.
        public let seq: Int64
        /// Its messageId.
        public let messageId: String
        /// Its Courier name.
        public let name: String
        /// The replay's explain trace.
        public let explain: JSONValue
        /// The automations whose runs were (or would be) started.
        public let started: [String]
    }
}
