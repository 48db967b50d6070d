/// A `wait_for` step (`- wait_for: { event: "track/Order Paid", within: 2d, match: "data.order_id == run.data.order_id" }`):
/// the run waits until an event of that name arrives for the same recipient (and satisfies
/// `match`, which reads the awaited event's paths and `run.*`, the waiting run's scope), then
/// takes its `then:` steps; when none arrives within the time, its `timeout:` steps.
public struct WaitForEvent: Sendable, Hashable {
    /// The Courier name of the awaited event (`track/Order Paid`).
    public var event: String
    /// How long the run waits.
    public var within: Duration
    /// The condition the awaited event must satisfy, as written; nil: any event of that name.
    public var matchText: String?
    /// How many steps after this one are its `then:` branch.
    public var thenSteps: Int
    /// How many steps after the `then:` branch are its `timeout:` branch.
    public var timeoutSteps: Int

    /// A wait.
    public init(event: String, within: Duration, matchText: String? = nil, thenSteps: Int = 0, timeoutSteps: Int = 0) {
        self.event = event
        self.within = within
        self.matchText = matchText
        self.thenSteps = thenSteps
        self.timeoutSteps = timeoutSteps
    }
}
