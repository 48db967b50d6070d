/// A run as the event processor creates it.
struct NewRun {
    let workspace: String
    let automation: String
    let configVersion: Int
    let recipient: String?
    let eventSeq: Int64
    /// The JSON scope the run starts with (`data`, `traits`, `event`, ...).
    let scope: String
    let token: String?
    let state: String
}
