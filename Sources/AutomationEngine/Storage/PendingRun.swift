/// A pending run as the step worker reads it.
struct PendingRun {
    let id: Int64
    let workspace: String
    let automation: String
    let configVersion: Int
    let nextStep: Int
    let recipient: String
    /// The JSON scope the run was started with (`data`, `traits`, `event`, ...).
    let scope: String
    /// The event that started it (its explain trace hears of deferrals and skips).
    var eventSeq: Int64 = 0

    /// The same run moved to its next step (the worker continues a run whose next step is
    /// due at once without reading it again).
    func advanced() -> PendingRun {
        PendingRun(
            id: id, workspace: workspace, automation: automation, configVersion: configVersion, nextStep: nextStep + 1,
            recipient: recipient, scope: scope, eventSeq: eventSeq)
    }
}
