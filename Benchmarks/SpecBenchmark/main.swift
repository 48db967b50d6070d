// Micro benchmark of the SegmentSpec hot path: parse + validate + Courier mapping, on one core,
// over Segment's direct-tester corpus. Run with `make bench-spec`.
import Foundation
import HeraldTestSupport
import SegmentSpec

let corpus = try DirectTesterCorpus()
var filler = PlaceholderFiller(prefix: "bench")
let bodies: [[UInt8]] = corpus.templates.map { Array(filler.fill($0.text).utf8) }
let sizes = bodies.map(\.count).sorted()
let medianSize = sizes[sizes.count / 2]
// The events within ±25% of the median size: the "median-size event" of the target.
let medianBodies = bodies.filter { Double($0.count) >= Double(medianSize) * 0.75 && Double($0.count) <= Double(medianSize) * 1.25 }
let decoder = PayloadDecoder()

// The same events as Segment's libraries send them: 100 per `/v1/batch` body, `sentAt` on the
// batch, no `writeKey` in the events (the tester's corpus has one in each).
let batchEvents: [[UInt8]] = medianBodies.map { body in
    guard case .object(var event) = try? JSONParser.parse(body) else { fatalError("corpus event is not an object") }
    event["writeKey"] = nil
    return event.encodedBytes()
}
let batchBodies: [[UInt8]] = stride(from: 0, to: batchEvents.count, by: 100).map { start in
    let events = (start..<start + 100).map { batchEvents[$0 % batchEvents.count] }
    return Array(#"{"batch":["#.utf8) + Array(events.joined(separator: Array(",".utf8))) + Array(#"],"sentAt":"2026-11-23T10:00:01.000Z"}"#.utf8)
}

/// Decodes every body `rounds` times; returns events per second.
func measure(_ set: [[UInt8]], rounds: Int, endpoint: PayloadEndpoint = .destination) -> Double {
    var checksum = 0
    var events = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<rounds {
        for body in set {
            guard let payload = try? decoder.decode(body, endpoint: endpoint) else { fatalError("corpus body rejected") }
            for decoded in payload.events {
                guard case .success(let event) = decoded.outcome else { fatalError("corpus event rejected") }
                checksum &+= event.courierName.utf8.count &+ event.courierData.count &+ decoded.storedJSON.count
                events += 1
            }
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    precondition(checksum != 0)
    return Double(events) / seconds
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

_ = measure(bodies, rounds: 20)  // warm-up
let runs = 7
let all = (0..<runs).map { _ in measure(bodies, rounds: 50) }
let mid = (0..<runs).map { _ in measure(medianBodies, rounds: 100) }
let batched = (0..<runs).map { _ in measure(batchBodies, rounds: 100, endpoint: .batch) }
let averageSize = bodies.map(\.count).reduce(0, +) / bodies.count
print("SegmentSpec decode + validate + map, one core, median of \(runs) runs")
print("  whole corpus:       \(bodies.count) events, mean \(averageSize) B -> \(Int(median(all))) events/s")
print("  median-size events: \(medianBodies.count) events of \(medianSize) B ±25% -> \(Int(median(mid))) events/s (target 50000)")
print("  same, 100 per /v1/batch body with a batch-level sentAt -> \(Int(median(batched))) events/s")
