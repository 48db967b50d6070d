import Foundation
import SegmentSpec

/// The step worker's reads and writes inside one transaction: claim due runs, record each
/// step's outcome, advance or finish the run, write its messages.
protocol StepTransaction: DigestTransaction {
    /// The runs due at `ms`, oldest due first (a backend with several workers claims them so
    /// no other worker takes them, e.g. `FOR UPDATE SKIP LOCKED`).
    func dueRuns(at ms: Int64, limit: Int) throws -> [PendingRun]
    /// Run `id` if it is still pending and due at `ms` (read again after a step of the same
    /// transaction cancelled runs).
    func pendingRun(id: Int64, dueAt ms: Int64) throws -> PendingRun?
    /// Run `id` if it is pending, whenever it is due (dry runs step through simulated time).
    func pendingRun(id: Int64) throws -> (run: PendingRun, dueAt: Int64)?
    /// The configuration version a run is pinned to.
    func configuration(workspace: String, version: Int) throws -> HeraldConfiguration?
    /// Profiles and groups of `workspace`, in this transaction.
    func profiles(workspace: String, time: Timestamp) -> any ProfileTransaction
    /// Appends to the run's step history (append-only).
    func recordStep(runId: Int64, step: Int, outcome: String, at ms: Int64) throws
    /// Moves the run to its next step, due at `dueAt`.
    func advance(runId: Int64, dueAt: Int64, at ms: Int64) throws
    /// Ends the run (`completed` or `failed`) at step `step`.
    func finish(runId: Int64, state: String, step: Int, at ms: Int64) throws
    /// Cancels the workspace's other pending runs with `token`; returns how many.
    func cancelPendingRuns(workspace: String, token: String, except runId: Int64, at ms: Int64) throws -> Int
    /// Replaces a profile's traits (creating the profile when new).
    func saveProfileTraits(workspace: String, profileId: String, traits: JSONObject, at ms: Int64) throws
    /// Writes a new message and its first status, with the Segment event of that status when
    /// the workspace sends one (in this transaction); a `queued` one is due for delivery at once.
    /// Returns false, writing nothing, when a message with its id exists (a step re-run never
    /// sends twice).
    func insertIfNew(_ message: NewMessage, at ms: Int64) throws -> Bool
    /// The key that signs open and click tracking tokens.
    func trackingKey() throws -> Data
    /// The workspace's Segment settings in force (nil: it sends nothing to Segment).
    func segmentDestination(workspace: String) throws -> SegmentDestination?
    /// Writes a `segment` step's call about `recipient` to the outbox, once per run and step;
    /// false when it was written before or its event is not sent.
    func enqueueSegmentCall(runId: Int64, step: Int, workspace: String, recipient: String, type: String, fields: JSONObject, at ms: Int64) throws -> Bool
    /// The recipient's preference choices as they are now (checked when a send runs).
    func preferenceChoices(workspace: String, profileId: String) throws -> [PreferenceRecord]
    /// The key that signs `workspace`'s preference links, made on first use.
    func preferenceLinkKey(workspace: String) throws -> [UInt8]

    /// Keeps the run at its step, due again at `dueAt` (a deferred send, a wait).
    func postpone(runId: Int64, dueAt: Int64, at ms: Int64) throws
    /// Adds a line to the explain trace of the event at `seq` (a deferral or skip of a run it started).
    func noteOnTrace(ofEventAt seq: Int64, _ text: String) throws

    /// Checks `send` against `caps` and, when none is exceeded, counts it (in this
    /// transaction, with the send); returns the first cap exceeded otherwise. A backend with
    /// concurrent workers serialises the check per recipient (e.g. a row lock).
    func admitSend(_ send: CountedSend, caps: [SendCap], at ms: Int64) throws -> CapRefusal?

    /// Starts run `runId`'s wait at step `step` for `event` of `recipient`, until `deadline`.
    func startWait(runId: Int64, step: Int, workspace: String, recipient: String, event: String, matchText: String?, deadline: Int64, at ms: Int64) throws
    /// Run `runId`'s wait at step `step`, if it started.
    func wait(runId: Int64, step: Int) throws -> RunWait?
    /// Ends a wait that is still waiting as timed out; false when the event arrived first.
    func timeOutWait(runId: Int64, step: Int, at ms: Int64) throws -> Bool
}
