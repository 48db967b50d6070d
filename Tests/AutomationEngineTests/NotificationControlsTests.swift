import AutomationEngine
import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

/// A Herald engine over a real SQLite file with a configuration of the test's own, a test
/// clock for the processor and the step worker, and the server's group-commit writer.
struct ControlsHarness {
    let path: String
    let store: HeraldStore
    let writer: GroupCommitWriter
    let keyHash: Data
    let processor: EventProcessor
    let worker: RunWorker
    let clock: TestClock

    /// A harness on a new database file with `yaml` applied, or on `path` reopened (a restart).
    static func make(yaml: String?, path given: String? = nil, clock: TestClock, keyHash: Data? = nil) async throws -> ControlsHarness {
        let path = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("herald-controls-\(UUID().uuidString).sqlite").path
        let store = try HeraldStore.open(path: path)
        var hash = keyHash
        if hash == nil { hash = try await store.createKey(workspace: "default", scope: .ingest).secret.hash }
        if let yaml { try await store.applyConfiguration(yaml: yaml, workspace: "default", secrets: SecretEnvironment(variables: [:]), now: clock.now) }
        let writer = GroupCommitWriter(store: store)
        Task { try await writer.run() }
        let processor = EventProcessor(store: store, now: { clock.now })
        let worker = RunWorker(store: store, now: { clock.now })
        return ControlsHarness(path: path, store: store, writer: writer, keyHash: try #require(hash), processor: processor, worker: worker, clock: clock)
    }

    /// Appends one event (received at the clock's time); returns its seq. The engine does not run.
    @discardableResult
    func append(_ json: String) async throws -> Int64 {
        let object = try #require(try JSONParser.parse(json).objectValue)
        let event = try SegmentEvent(validating: object)
        let entry = IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "default", receivedAt: clock.now)
        guard case .accepted(let seq) = try await writer.append([entry], keyHash: keyHash).first else {
            throw EventValidationError.invalid("not accepted")
        }
        return seq
    }

    /// Appends one event and runs the event processor over the log.
    @discardableResult
    func send(_ json: String) async throws -> Int64 {
        let seq = try await append(json)
        while try await processor.processPending() > 0 {}
        return seq
    }

    func trace(_ seq: Int64) async throws -> JSONValue {
        try #require(try await store.trace(seq: seq))
    }

    func history(_ runId: Int64) async throws -> [String] {
        try await store.runHistory(runId: runId).map(\.outcome)
    }

    static func track(_ event: String, user: String, _ properties: String = "{}", context: String = "{}") -> String {
        #"{"type":"track","event":"\#(event)","userId":"\#(user)","properties":\#(properties),"context":\#(context)}"#
    }
}

@Suite("Notification controls: digests, frequency caps, send windows, wait_for (test clock, SQLite file)")
struct NotificationControlsTests {
    static let start = Timestamp(millisecondsSince1970: 1_795_000_000_000)  // 2026-11-18T11:06:40Z, a Wednesday

    static let digestYAML = """
        channels:
          inbox: { type: inbox }
        templates:
          comments:
            channel: inbox
            subject: "{{digest.count}} new comments"
            body: "{{#digest.items}}{{data.text}};{{/digest.items}}"
        automations:
          comment-digest:
            steps:
              - digest: { window: 10m, key: "{{data.thread_id}}", max_items: MAX }
              - send: comments
        mappings:
          - on: track/Comment Added
            run: comment-digest
        """

    @Test("a digest collects one recipient's events per key into one run; its window's end sends one message with every item")
    func digestCollects() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.digestYAML.replacingOccurrences(of: "MAX", with: "50"), clock: clock)
        let first = try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t-1","text":"a"}"#))
        clock.advance(.seconds(60))
        let second = try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t-1","text":"b"}"#))
        let third = try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t-1","text":"c"}"#))
        try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t-2","text":"other thread"}"#))
        try await engine.send(ControlsHarness.track("Comment Added", user: "u-2", #"{"thread_id":"t-1","text":"other user"}"#))
        let runs = try await engine.store.runs(workspace: "default")
        #expect(runs.map(\.recipient) == ["u-1", "u-1", "u-2"])
        let opened = try await engine.trace(first)["mappings"]?[0]?["result"]?.stringValue
        #expect(opened == #"started run 1 of `comment-digest`; collecting a digest for key "t-1" until 2026-11-18T11:16:40.000Z"#)
        #expect(try await engine.trace(second)["mappings"]?[0]?["result"] == "added to digest run 1, 2 items so far")
        #expect(try await engine.trace(third)["mappings"]?[0]?["result"] == "added to digest run 1, 3 items so far")
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").isEmpty)  // the windows are open
        clock.advance(.seconds(10 * 60))  // past both of u-1's windows
        try await engine.worker.executeDue()
        let messages = try await engine.store.messages(workspace: "default", recipient: "u-1")
        #expect(messages.map(\.subject) == ["3 new comments", "1 new comments"])
        #expect(messages.first?.body == "a;b;c;")
        #expect(try await engine.history(1) == [
            "collecting a digest until 2026-11-18T11:16:40.000Z (3 items so far)", "message run-1-step-1 sent: stored in u-1's inbox", "completed",
        ])
        // After the window an event opens a new digest.
        let late = try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t-1","text":"d"}"#))
        #expect(try await engine.trace(late)["mappings"]?[0]?["result"]?.stringValue?.hasPrefix("started run 4 of `comment-digest`") == true)
    }

    @Test("schedule: \"daily at 09:00\" closes a digest at 09:00 in the recipient's time zone")
    func digestSchedule() async throws {
        let clock = TestClock(start: Self.start)  // 20:06 in Tokyo
        let yaml = Self.digestYAML.replacingOccurrences(of: "window: 10m, ", with: #"schedule: "daily at 09:00", "#).replacingOccurrences(of: "MAX", with: "50")
        let engine = try await ControlsHarness.make(yaml: yaml, clock: clock)
        let context = #"{"timezone":"Asia/Tokyo"}"#
        let first = try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"a"}"#, context: context))
        try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"b"}"#, context: context))
        #expect(try await engine.trace(first)["mappings"]?[0]?["result"] == #"started run 1 of `comment-digest`; collecting a digest for key "t" until 2026-11-19T00:00:00.000Z"#)
        try await engine.worker.executeDue()
        clock.advance(.seconds(12 * 3600 + 53 * 60 + 20))  // 2026-11-19T00:00:00Z, 09:00 in Tokyo
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.body) == ["a;b;"])
    }

    @Test("a digest after another step collects the runs that reach it: the first collects, the others end there")
    func digestAfterADelay() async throws {
        let clock = TestClock(start: Self.start)
        let yaml = Self.digestYAML.replacingOccurrences(of: "    steps:\n      - digest:", with: "    steps:\n      - delay: 1m\n      - digest:")
            .replacingOccurrences(of: "MAX", with: "50")
        let engine = try await ControlsHarness.make(yaml: yaml, clock: clock)
        for text in ["a", "b", "c"] { try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"\#(text)"}"#)) }
        try await engine.worker.executeDue()
        clock.advance(.seconds(60))
        try await engine.worker.executeDue()
        #expect(try await engine.history(2).last == "added to digest run 1, 2 items so far")
        #expect(try await engine.history(3).last == "added to digest run 1, 3 items so far")
        #expect(try await engine.store.runs(workspace: "default").map(\.state) == ["pending", "completed", "completed"])
        clock.advance(.seconds(600))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.body) == ["a;b;c;"])
    }

    @Test("max_items closes a digest early: 7 events with max_items 3 make digests of 3, 3 and 1, the full ones sent at once")
    func digestMaxItems() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.digestYAML.replacingOccurrences(of: "MAX", with: "3"), clock: clock)
        for n in 1...7 { try await engine.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"\#(n)"}"#)) }
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.body) == ["1;2;3;", "4;5;6;"])
        clock.advance(.seconds(600))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.body) == ["1;2;3;", "4;5;6;", "7;"])
        #expect(try await engine.store.runs(workspace: "default").count == 3)
    }

    @Test("200 events appended concurrently from 32 tasks while the engine runs make exactly one digest of 200 items; across a reopen of the database too")
    func digestUnderConcurrencyAndRestart() async throws {
        let clock = TestClock(start: Self.start)
        let yaml = Self.digestYAML.replacingOccurrences(of: "MAX", with: "1000")
        var engine = try await ControlsHarness.make(yaml: yaml, clock: clock)
        func burst(_ engine: ControlsHarness, _ range: ClosedRange<Int>) async throws {
            try await withThrowingTaskGroup(of: Void.self) { group in
                let numbers = Array(range)
                for lane in 0..<32 {
                    group.addTask {
                        for n in stride(from: lane, to: numbers.count, by: 32) {
                            try await engine.append(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"\#(numbers[n])"}"#))
                        }
                    }
                }
                group.addTask { for _ in 0..<50 { _ = try await engine.processor.processPending() } }
                try await group.waitForAll()
            }
            while try await engine.processor.processPending() > 0 {}
        }
        try await burst(engine, 1...100)
        // A restart in the middle of the window: the same file, a new store, writer and engine.
        let keyHash = engine.keyHash
        engine = try await ControlsHarness.make(yaml: nil, path: engine.path, clock: clock, keyHash: keyHash)
        clock.advance(.seconds(60))
        try await burst(engine, 101...200)
        #expect(try await engine.store.runs(workspace: "default").count == 1)
        clock.advance(.seconds(600))
        try await engine.worker.executeDue()
        let messages = try await engine.store.messages(workspace: "default")
        #expect(messages.map(\.subject) == ["200 new comments"])
        let texts = Set((messages.first?.body ?? "").split(separator: ";").map(String.init))
        #expect(texts == Set((1...200).map(String.init)))
    }

    static let capsYAML = """
        channels:
          email: { type: webhook, url: "https://mailer.example.com/send" }
          inbox: { type: inbox }
        templates:
          promo: { channel: email, subject: "Promo {{data.n}}", body: "n={{data.n}}" }
          note:  { channel: inbox, body: "note {{data.n}}" }
        limits:
          - { channel: email, max: 3, per: 1d, over_limit: OVER }
        automations:
          promo:
            steps:
              - send: promo
          note:
            throttle: { max: 1, per: 1h, key: "{{data.thread}}" }
            steps:
              - send: note
        mappings:
          - on: track/Promo
            run: promo
          - on: track/Note
            run: note
        """

    @Test("a limit on a channel skips sends over it, with the reason in the message, the run's history and the event's explain trace")
    func limitSkips() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.capsYAML.replacingOccurrences(of: "OVER", with: "skip"), clock: clock)
        var seqs: [Int64] = []
        for n in 1...5 { seqs.append(try await engine.send(ControlsHarness.track("Promo", user: "u-1", #"{"n":\#(n)}"#))) }
        try await engine.send(ControlsHarness.track("Promo", user: "u-2", #"{"n":9}"#))
        try await engine.worker.executeDue()
        let messages = try await engine.store.messages(workspace: "default", recipient: "u-1")
        #expect(messages.map(\.status) == [.queued, .queued, .queued, .skipped, .skipped])
        #expect(messages.last?.history.last?.reason == "limit 3 per 1d on email reached")
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-2").map(\.status) == [.queued])
        #expect(try await engine.history(4).first == "message run-4-step-0 skipped: limit 3 per 1d on email reached")
        let effects = try await engine.trace(seqs[3])["effects"]?.arrayValue ?? []
        #expect(effects.contains("run 4 of `promo`: skipped: limit 3 per 1d on email reached"))
        // A day later the window has room again.
        clock.advance(.seconds(86_400))
        try await engine.send(ControlsHarness.track("Promo", user: "u-1", #"{"n":6}"#))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-1").last?.status == .queued)
    }

    @Test("over_limit: defer sends the rest when the cap allows, in the order they came")
    func limitDefers() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.capsYAML.replacingOccurrences(of: "OVER", with: "defer"), clock: clock)
        for n in 1...7 {
            try await engine.send(ControlsHarness.track("Promo", user: "u-1", #"{"n":\#(n)}"#))
            clock.advance(.seconds(60))
        }
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.subject) == ["Promo 1", "Promo 2", "Promo 3"])
        #expect(try await engine.history(4) == ["deferred to 2026-11-19T11:13:40.000Z by the limit 3 per 1d on email"])
        var sent: [String?] = []
        for _ in 0..<6 {
            clock.advance(.seconds(3600 * 8))
            try await engine.worker.executeDue()
            sent = try await engine.store.messages(workspace: "default").map(\.subject)
        }
        #expect(sent == (1...7).map { "Promo \($0)" })
        // Never more than 3 within any day.
        let times = try await engine.store.messages(workspace: "default").map(\.createdAt.millisecondsSince1970)
        for (index, time) in times.enumerated() where index >= 3 {
            #expect(time - times[index - 3] >= 86_400_000)
        }
    }

    @Test("four step workers over their own connections to one database file send to one recipient at once, and never past the cap")
    func capUnderConcurrentWorkers() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.capsYAML.replacingOccurrences(of: "OVER", with: "skip"), clock: clock)
        for n in 1...60 { try await engine.append(ControlsHarness.track("Promo", user: "u-1", #"{"n":\#(n)}"#)) }
        while try await engine.processor.processPending() > 0 {}
        // Four workers, each with its own connection pool to the file, racing for the same due runs.
        var workers: [RunWorker] = []
        for _ in 0..<4 { workers.append(RunWorker(store: try HeraldStore.open(path: engine.path), now: { clock.now })) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask { while try await worker.executeDue(limit: 5, batchSize: 1) > 0 {} }
            }
            try await group.waitForAll()
        }
        let messages = try await engine.store.messages(workspace: "default", recipient: "u-1")
        #expect(messages.count == 60)
        #expect(messages.filter { $0.status == .queued }.count == 3)
        #expect(messages.filter { $0.status == .skipped }.count == 57)
    }

    @Test("the dry run shows a deferral and a digest step by step")
    func dryRunShowsControls() async throws {
        let clock = TestClock(start: try Self.at("2026-03-28T21:00:00Z"))
        let engine = try await ControlsHarness.make(yaml: Self.windowYAML, clock: clock)
        let report = try await DryRun(store: engine.store, now: { clock.now }).evaluate(
            event: try #require(try JSONParser.parse(ControlsHarness.track("Update", user: "u-1")).objectValue), workspace: "default")
        let steps = report.runs.first?.steps.map(\.outcome) ?? []
        #expect(steps.first == "deferred to 2026-03-30T08:00 Europe/Paris by the email send window")
        #expect(steps.dropFirst().first?.hasPrefix("message run-") == true)
        #expect(try await engine.store.runs(workspace: "default").isEmpty)  // nothing kept

        let digest = try await ControlsHarness.make(yaml: Self.digestYAML.replacingOccurrences(of: "MAX", with: "50"), clock: clock)
        try await digest.send(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"a"}"#))
        let joined = try await DryRun(store: digest.store, now: { clock.now }).evaluate(
            event: try #require(try JSONParser.parse(ControlsHarness.track("Comment Added", user: "u-1", #"{"thread_id":"t","text":"b"}"#)).objectValue),
            workspace: "default")
        #expect(joined.explain["mappings"]?[0]?["result"] == "added to digest run 1, 2 items so far")
    }

    @Test("a throttle counts one automation's sends per recipient and key")
    func throttle() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.capsYAML.replacingOccurrences(of: "OVER", with: "skip"), clock: clock)
        try await engine.send(ControlsHarness.track("Note", user: "u-1", #"{"n":1,"thread":"a"}"#))
        try await engine.send(ControlsHarness.track("Note", user: "u-1", #"{"n":2,"thread":"a"}"#))
        try await engine.send(ControlsHarness.track("Note", user: "u-1", #"{"n":3,"thread":"b"}"#))
        try await engine.worker.executeDue()
        let messages = try await engine.store.messages(workspace: "default")
        #expect(messages.map(\.status) == [.sent, .skipped, .sent])
        #expect(messages[1].history.last?.reason == #"throttle 1 per 1h of `note` for key "a" reached"#)
    }

    static let windowYAML = """
        timezone: Europe/Paris
        channels:
          email: { type: webhook, url: "https://mailer.example.com/send", send_window: { days: [mon-fri], from: "08:00", to: "20:00" } }
        templates:
          update: { channel: email, body: "update" }
        automations:
          update:
            steps:
              - send: update
        mappings:
          - on: track/Update
            run: update
        """

    static func at(_ iso: String) throws -> Timestamp { try #require(Timestamp(iso8601: iso)) }

    @Test("a send outside the window is deferred to its next opening in local time, across both daylight-saving changes")
    func sendWindowAcrossDST() async throws {
        // Saturday 28 March 2026, 22:00 in Paris (CET); clocks go forward on Sunday the 29th.
        let clock = TestClock(start: try Self.at("2026-03-28T21:00:00Z"))
        let engine = try await ControlsHarness.make(yaml: Self.windowYAML, clock: clock)
        let seq = try await engine.send(ControlsHarness.track("Update", user: "u-1"))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").isEmpty)
        #expect(try await engine.history(1) == ["deferred to 2026-03-30T08:00 Europe/Paris by the email send window"])
        let run = try #require(try await engine.store.runs(workspace: "default").first)
        #expect(run.dueAt == (try Self.at("2026-03-30T06:00:00Z")))  // 08:00 CEST
        #expect((try await engine.trace(seq)["effects"]?.arrayValue ?? []).contains("run 1 of `update`: deferred to 2026-03-30T08:00 Europe/Paris by the email send window"))
        clock.advance(.seconds(Int64(run.dueAt.millisecondsSince1970 - clock.now.millisecondsSince1970) / 1000 - 1))
        #expect(try await engine.worker.executeDue() == 0)
        clock.advance(.seconds(1))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.status) == [.queued])

        // Friday 23 October 2026, 21:00 in Paris (CEST); clocks go back on Sunday the 25th.
        let autumn = TestClock(start: try Self.at("2026-10-23T19:00:00Z"))
        let later = try await ControlsHarness.make(yaml: Self.windowYAML, clock: autumn)
        try await later.send(ControlsHarness.track("Update", user: "u-1"))
        try await later.worker.executeDue()
        #expect(try await later.store.runs(workspace: "default").first?.dueAt == (try Self.at("2026-10-26T07:00:00Z")))  // 08:00 CET
    }

    @Test("recipients in three time zones get the same window in their own local time (profile trait, Segment's context.timezone, the workspace default)")
    func sendWindowThreeZones() async throws {
        // Wednesday 18 November 2026, 06:00 UTC.
        let clock = TestClock(start: try Self.at("2026-11-18T06:00:00Z"))
        let engine = try await ControlsHarness.make(yaml: Self.windowYAML, clock: clock)
        try await engine.send(#"{"type":"identify","userId":"ny","traits":{"timezone":"America/New_York"}}"#)
        try await engine.send(ControlsHarness.track("Update", user: "ny"))  // 01:00 in New York: waits until 08:00 EST
        try await engine.send(ControlsHarness.track("Update", user: "tokyo", context: #"{"timezone":"Asia/Tokyo"}"#))  // 15:00 in Tokyo: open
        try await engine.send(ControlsHarness.track("Update", user: "paris"))  // 07:00 in Paris: waits an hour
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").map(\.recipient) == ["tokyo"])
        let runs = try await engine.store.runs(workspace: "default")
        let due = Dictionary(uniqueKeysWithValues: runs.filter { $0.state == "pending" }.map { ($0.recipient, $0.dueAt) })
        #expect(due["ny"] == (try Self.at("2026-11-18T13:00:00Z")))
        #expect(due["paris"] == (try Self.at("2026-11-18T07:00:00Z")))
        #expect(try await engine.history(runs.first { $0.recipient == "ny" }!.id) == ["deferred to 2026-11-18T08:00 America/New_York by the email send window"])
    }

    static let waitYAML = """
        channels:
          inbox: { type: inbox }
        templates:
          thanks:   { channel: inbox, body: "thanks for paying {{data.order_id}}" }
          reminder: { channel: inbox, body: "order {{data.order_id}} is not paid" }
          done:     { channel: inbox, body: "done {{data.order_id}}" }
        automations:
          payment:
            steps:
              - wait_for: { event: "track/Order Paid", within: 2d, match: "data.order_id == run.data.order_id" }
                then:
                  - send: thanks
                timeout:
                  - send: reminder
              - send: done
        mappings:
          - on: track/Order Placed
            run: payment
        """

    @Test("wait_for: the event before the timeout continues once (a second one too); after it, the timeout branch; another recipient's is ignored")
    func waitFor() async throws {
        let clock = TestClock(start: Self.start)
        let engine = try await ControlsHarness.make(yaml: Self.waitYAML, clock: clock)
        try await engine.send(ControlsHarness.track("Order Placed", user: "u-1", #"{"order_id":"o-1"}"#))
        try await engine.send(ControlsHarness.track("Order Placed", user: "u-2", #"{"order_id":"o-2"}"#))
        try await engine.worker.executeDue()
        #expect(try await engine.history(1) == [#"waiting for track/Order Paid where `data.order_id == run.data.order_id` until 2026-11-20T11:06:40.000Z"#])
        // Another recipient paying o-1, and u-1 paying another order: ignored.
        try await engine.send(ControlsHarness.track("Order Paid", user: "u-3", #"{"order_id":"o-1"}"#))
        let other = try await engine.send(ControlsHarness.track("Order Paid", user: "u-1", #"{"order_id":"o-9"}"#))
        #expect((try await engine.trace(other)["effects"]?.arrayValue ?? []).contains {
            $0.stringValue?.hasPrefix("run 1 of `payment` waits for track/Order Paid, but `data.order_id == run.data.order_id` was false") == true
        })
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default").isEmpty)
        // u-1 pays o-1 within the time, twice.
        clock.advance(.seconds(3600))
        let paid = try await engine.send(ControlsHarness.track("Order Paid", user: "u-1", #"{"order_id":"o-1"}"#))
        #expect((try await engine.trace(paid)["effects"]?.arrayValue ?? []).contains("continued run 1 of `payment`, which was waiting for track/Order Paid"))
        try await engine.send(ControlsHarness.track("Order Paid", user: "u-1", #"{"order_id":"o-1"}"#))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-1").map(\.body) == ["thanks for paying o-1", "done o-1"])
        #expect(try await engine.history(1).dropFirst().first == "track/Order Paid arrived (event 5): taking the `then` branch")
        // u-2 never pays: two days later the timeout branch; a payment after that is ignored.
        clock.advance(.seconds(2 * 86_400))
        try await engine.worker.executeDue()
        try await engine.send(ControlsHarness.track("Order Paid", user: "u-2", #"{"order_id":"o-2"}"#))
        try await engine.worker.executeDue()
        #expect(try await engine.store.messages(workspace: "default", recipient: "u-2").map(\.body) == ["order o-2 is not paid", "done o-2"])
        #expect(try await engine.history(2).dropFirst().first == "no track/Order Paid within 2d: taking the `timeout` branch")
        #expect(try await engine.store.runs(workspace: "default").map(\.state) == ["completed", "completed"])
    }

    @Test("a delay until a time already past runs the next step at once and says how late, never failing the run")
    func delayUntilPast() async throws {
        let clock = TestClock(start: Self.start)
        let yaml = """
            channels:
              inbox: { type: inbox }
            templates:
              reminder: { channel: inbox, body: "reminder" }
            automations:
              remind:
                steps:
                  - delay: { until: data.remind_at }
                  - send: reminder
            mappings:
              - on: track/Remind
                run: remind
            """
        let engine = try await ControlsHarness.make(yaml: yaml, clock: clock)
        try await engine.send(ControlsHarness.track("Remind", user: "u-1", #"{"remind_at":"2026-11-15T08:00:00Z"}"#))
        try await engine.worker.executeDue()
        #expect(try await engine.history(1) == [
            "no wait: 2026-11-15T08:00:00.000Z (data.remind_at) is already past, late by 3d 3h", "message run-1-step-1 sent: stored in u-1's inbox", "completed",
        ])
    }

    @Test("the new YAML is checked with line and column like every other field")
    func validation() throws {
        let yaml = """
            channels:
              inbox: { type: inbox, send_window: { days: [mon-fry], from: "08:00", to: "20:00" } }
            limits:
              - { channel: sms, max: 3, per: 1d }
            automations:
              a:
                steps:
                  - digest: { window: soon }
                  - wait_for: { event: "track/Paid", within: 2d, match: "order.id == run.data.id" }
            """
        #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(yaml: yaml, secrets: .none) }
        do {
            _ = try ConfigurationLoader.load(yaml: yaml, secrets: .none)
        } catch {
            let lines = error.issues.map { "\($0.line):\($0.column): \($0.message)" }
            #expect(lines.contains { $0.hasPrefix("2:46: `mon-fry` is not a day") })
            #expect(lines.contains { $0.hasPrefix("4:16: a limit counts sends on channel `sms`") })
            #expect(lines.contains { $0.hasPrefix("8:27: `window` must be a duration") })
            #expect(lines.contains { $0.hasPrefix("9:62: match: unknown name `order`") })
        }
    }
}
