import SegmentSpec

/// Which digest an event or a run belongs to: one automation's `digest` step, for one
/// recipient and rendered key.
struct DigestKey: Sendable, Hashable {
    let workspace: String
    let automation: String
    /// The index of the `digest` step in the automation.
    let step: Int
    let recipient: String
    /// The rendered `key:` ("" when the step has none).
    let key: String
}

/// An item that joined a digest another run collects.
struct DigestJoin {
    /// The run that collects the digest (and sends what follows it once).
    let runId: Int64
    /// Items in the digest, this one included.
    let items: Int
    /// Whether this item filled it (`max_items`): the collecting run is then due at once.
    let filled: Bool
}

/// A digest as the run that collects it sees it.
struct OwnedDigest {
    let key: String
    /// When its window ends (ms).
    let closesAt: Int64
    /// Whether it still takes items.
    let isOpen: Bool
    /// Items collected.
    let count: Int
    /// The items, oldest first (`{data, event}` each).
    let items: [JSONObject]
}

/// Digest storage, in the event processor's and the step worker's transactions.
///
/// Exactly one digest per window per key: a backend keeps at most one open digest per
/// ``DigestKey`` with a uniqueness constraint (SQLite: a partial unique index; PostgreSQL the
/// same), so two transactions that both try to open one cannot both commit.
protocol DigestTransaction {
    /// Adds `item` to the open digest of `key` whose window has not ended at `ms` and whose
    /// run is still pending, if there is one (closing ones that ended first); nil when none.
    /// When the item fills it, the digest closes and its run is made due at `ms`.
    func joinOpenDigest(_ key: DigestKey, item: JSONObject, at ms: Int64) throws -> DigestJoin?
    /// Opens the digest of `key`, collected by run `runId` until `closesAt`, with its first item.
    func openDigest(_ key: DigestKey, runId: Int64, closesAt: Int64, maxItems: Int, item: JSONObject, at ms: Int64) throws
    /// The digest run `runId` collects at step `step`, with its items.
    func digest(collectedBy runId: Int64, step: Int) throws -> OwnedDigest?
    /// Closes the digest run `runId` collects at step `step` (its run sends it now).
    func closeDigest(collectedBy runId: Int64, step: Int, at ms: Int64) throws
}
