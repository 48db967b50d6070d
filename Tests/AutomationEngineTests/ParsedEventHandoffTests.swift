@testable import AutomationEngine
import Foundation
import SegmentSpec
import Testing

@Suite("Parsed-event hand-off from the writer to the engine")
struct ParsedEventHandoffTests {
    private func entries(_ seqs: [Int64]) throws -> [ParsedEventHandoff.Entry] {
        try seqs.map { seq in
            let json = #"{"type":"track","event":"E","userId":"u","messageId":"m-\#(seq)"}"#
            let event = try SegmentEvent(validating: try #require(try JSONParser.parse(json).objectValue))
            let ingest = IngestEvent(event: event, raw: Array(json.utf8), workspaceId: "w", receivedAt: Timestamp(millisecondsSince1970: 0))
            return ParsedEventHandoff.Entry(stored: StoredEvent(seq: seq, appended: ingest), event: event)
        }
    }

    @Test("take returns the wanted positions and drops older ones; gaps are simply missing")
    func takeInOrder() throws {
        let handoff = ParsedEventHandoff(capacity: 100)
        handoff.offer(try entries([1, 2, 3, 5, 6]))
        let first = handoff.take([2, 3, 4])
        #expect(first.keys.sorted() == [2, 3])  // 1 was skipped (older), 4 was never offered
        #expect(first[3]?.stored.messageId == "m-3")
        #expect(handoff.count == 2)
        #expect(handoff.take([6]).keys.sorted() == [6])
        #expect(handoff.count == 0)
    }

    @Test("offers beyond the capacity are dropped, and out-of-order offers are ignored")
    func bounded() throws {
        let handoff = ParsedEventHandoff(capacity: 3)
        handoff.offer(try entries([10, 11, 12, 13, 14]))
        #expect(handoff.count == 3)
        handoff.offer(try entries([9]))
        #expect(handoff.count == 3)
        #expect(handoff.take([10, 11, 12, 13, 14]).keys.sorted() == [10, 11, 12])
        handoff.offer(try entries([15]))
        #expect(handoff.take([15]).keys.sorted() == [15])
    }

    @Test("a long stream is consumed without growing the buffer")
    func compacts() throws {
        let handoff = ParsedEventHandoff(capacity: 5_000)
        var next: Int64 = 1
        for _ in 0..<50 {
            let seqs = Array(next..<(next + 100))
            handoff.offer(try entries(seqs))
            #expect(handoff.take(seqs).count == 100)
            next += 100
        }
        #expect(handoff.count == 0)
    }
}
