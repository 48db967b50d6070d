/// A send about to be counted against frequency caps.
struct CountedSend {
    let workspace: String
    let recipient: String
    let channel: String
    let topic: String?
    let automation: String
    /// The rendered throttle key of the automation ("" when it has none).
    let throttleKey: String
}

/// One cap a send is checked against: at most `max` counted sends to the recipient within
/// `window` ms, among those that match every filter given.
struct SendCap {
    /// Only sends on this channel count (nil: every channel).
    let channel: String?
    /// Only sends of this topic count (nil: every topic).
    let topic: String?
    /// Only sends of this automation with this throttle key count (nil: every automation).
    let automation: String?
    let throttleKey: String?
    let max: Int
    let window: Int64
}

/// Why a send was refused: the first cap it would exceed, and when that cap allows one more.
struct CapRefusal {
    /// The index of the cap in the list checked.
    let index: Int
    /// When (ms) the oldest counted send leaves the window.
    let allowedAt: Int64
}
