import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Runs: steps execute when due, durably, under a test clock")
struct RunWorkerTests {
    static func engine(store: HeraldStore? = nil, clock: TestClock) async throws -> (EngineHarness, RunWorker) {
        let harness = try await EngineHarness.make(store: store, clock: clock)
        return (harness, RunWorker(store: harness.store, now: { clock.now }))
    }

    @Test("welcome series: send, wait 2 days, then the if-step decides")
    func welcomeSeries() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"identify","userId":"u-1","traits":{"firstName":"Ada","plan":"free","company":{"name":"Initech"}}}"#)
        #expect(try await worker.executeDue() == 2)  // send welcome, enter the 2-day delay
        let first = try await engine.store.messages(workspace: "default", recipient: "u-1")
        #expect(first.map(\.template) == ["welcome"])
        #expect(first.first?.subject == "Welcome, Ada!")
        #expect(first.first?.body == "Thanks for joining Initech.")
        #expect(first.first?.status == .queued)  // the email channel is a webhook: waiting for the delivery service
        clock.advance(.seconds(2 * 86_400 - 60))
        #expect(try await worker.executeDue() == 0)  // not yet due
        clock.advance(.seconds(60))
        #expect(try await worker.executeDue() == 1)  // the if-step sends, and the run completes with it
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-1").map(\.template) == ["welcome", "upgrade-nudge"])
        #expect(try await engine.store.runs(workspace: "default").first?.state == "completed")
    }

    @Test("the if-step sees the profile as it is when the step runs")
    func ifStepFalse() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"identify","userId":"u-2","traits":{"plan":"free"}}"#)
        try await worker.executeDue()
        try await engine.send(#"{"type":"identify","userId":"u-2","traits":{"plan":"pro"}}"#)
        clock.advance(.seconds(2 * 86_400))
        try await worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-2").map(\.template) == ["welcome"])
        let run = try #require(try await engine.store.runs(workspace: "default").first)
        let history = try await engine.store.runHistory(runId: run.id)
        #expect(history.contains { $0.outcome.hasPrefix(#"skipped: condition `profile.plan != "pro"` was false (profile.plan = "pro")"#) })
    }

    @Test("`to:` sends to another profile, rendered with that profile; an empty recipient is unroutable")
    func recipientOverride() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"identify","userId":"boss","traits":{"firstName":"Grace"}}"#)
        try await engine.send(#"{"type":"track","event":"Expense Submitted","userId":"u-9","properties":{"manager_id":"boss","amount":"$120","description":"Team lunch"}}"#)
        try await worker.executeDue()
        let sent = try #require(try await engine.store.messages(workspace: "default", recipient: "boss").first { $0.template == "expense-review" })
        #expect(sent.subject == "Grace, an expense of $120 needs your review")
        #expect(sent.body == "Submitted by u-9: Team lunch")
        #expect(sent.status == .sent)
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-9").isEmpty)
        // A manager id that renders empty leaves nobody to send to.
        try await engine.send(#"{"type":"track","event":"Expense Submitted","userId":"u-9","properties":{"manager_id":"","amount":"$5"}}"#)
        try await worker.executeDue()
        let unroutable = try #require(try await engine.store.messages(workspace: "default").first { $0.status == .unroutable })
        #expect(unroutable.history.last?.reason?.contains("no recipient") == true)
        // Erasing the submitter also erases what their runs sent to others: it carries their data.
        try await engine.send(#"{"type":"delete","userId":"u-9","messageId":"erase-u-9"}"#)
        #expect(try await engine.store.messages(workspace: "default").filter { $0.template == "expense-review" }.isEmpty)
        #expect(try await engine.store.messages(workspace: "default", recipient: "boss").map(\.template) == ["welcome"])
    }

    @Test("a cancel step stops another run that is due in the same batch")
    func cancelWithinOneBatch() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-5","properties":{"order_id":"o-5","revenue":9,"currency":"usd"}}"#)
        // The order confirmation's first step is its 10-minute delay, which the worker takes at once.
        #expect(try await worker.executeDue() == 1)
        let confirmation = try #require(try await engine.store.runs(workspace: "default").first)
        #expect(try await engine.store.runHistory(runId: confirmation.id).map(\.step) == [0])
        #expect(confirmation.dueAt.millisecondsSince1970 == EngineHarness.now.millisecondsSince1970 + 10 * 60_000)
        clock.advance(.seconds(5 * 60))
        // The refund clean-up is started (due now) but the worker does not run yet.
        try await engine.send(#"{"type":"track","event":"Refund Requested","userId":"u-5","properties":{"order_id":"o-5"}}"#)
        clock.advance(.seconds(5 * 60))
        // Both are due now; the clean-up is older, so it runs first in the batch and cancels the confirmation.
        try await worker.executeDue()
        let runs = try await engine.store.runs(workspace: "default")
        #expect(runs.map(\.automation) == ["order-confirmation", "refund-cleanup"])
        #expect(runs.map(\.state) == ["cancelled", "completed"])
        #expect(try await engine.store.messages(workspace: "default").isEmpty)
    }

    @Test("order confirmation: after 10 minutes to the inbox, then update-profile renders its values")
    func orderConfirmation() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-3","properties":{"order_id":"o-1","revenue":30,"currency":"usd"}}"#)
        try await worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").isEmpty)
        clock.advance(.seconds(600))
        try await worker.executeDue()
        let message = try #require(try await engine.store.messages(workspace: "default", recipient: "u-3").first)
        #expect(message.channel == "inbox")
        #expect(message.status == .sent)
        #expect(message.history.map(\.status) == [.sent])
        #expect(message.subject == "Order o-1 confirmed")
        #expect(message.body == "We received your order of 30 usd.")
        let profile = try #require(try await engine.store.profileTraits(workspace: "default", id: "u-3"))
        #expect(profile["last_order_id"] == "o-1")
    }

    @Test("a cancel during the delay stops the run before it sends anything")
    func cancelDuringDelay() async throws {
        let clock = TestClock(start: EngineHarness.now)
        let (engine, worker) = try await Self.engine(clock: clock)
        try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-4","properties":{"order_id":"o-4","revenue":30,"currency":"usd"}}"#)
        try await worker.executeDue()
        try await engine.send(#"{"type":"track","event":"Order Refunded","userId":"u-4","properties":{"order_id":"o-4"}}"#)
        clock.advance(.seconds(3600))
        #expect(try await worker.executeDue() == 0)
        #expect(try await engine.store.messages(workspace: "default").isEmpty)
    }

    @Test("restart in the middle of a delay: a new worker on the same file fires the step once")
    func restartDuringDelay() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-runs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("runs.sqlite").path
        let clock = TestClock(start: EngineHarness.now)
        do {
            let (engine, worker) = try await Self.engine(store: try HeraldStore.open(path: path), clock: clock)
            try await engine.send(#"{"type":"track","event":"Order Completed","userId":"u-5","properties":{"order_id":"o-5","revenue":30,"currency":"usd"}}"#)
            try await worker.executeDue()
        }
        clock.advance(.seconds(7200))  // the process was down past the due time: overdue steps run at start
        let reopened = try HeraldStore.open(path: path)
        let worker = RunWorker(store: reopened, now: { clock.now })
        #expect(try await worker.executeDue() == 2)  // send, then update-profile, which completes the run
        #expect(try await RunWorker(store: reopened, now: { clock.now }).executeDue() == 0)
        #expect(try await reopened.messages(workspace: "default").count == 1)
    }
}
