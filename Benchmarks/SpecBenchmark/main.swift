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

/// Decodes every body `rounds` times; returns events per second.
func measure(_ set: [[UInt8]], rounds: Int) -> Double {
    var checksum = 0
    let start = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<rounds {
        for body in set {
            guard let payload = try? decoder.decode(body, endpoint: .destination),
                case .success(let event) = payload.events[0].outcome
            else { fatalError("corpus event rejected") }
            checksum &+= event.courierName.utf8.count &+ event.courierData.count
        }
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    precondition(checksum != 0)
    return Double(set.count * rounds) / seconds
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

_ = measure(bodies, rounds: 20)  // warm-up
let runs = 7
let all = (0..<runs).map { _ in measure(bodies, rounds: 50) }
let mid = (0..<runs).map { _ in measure(medianBodies, rounds: 100) }
let averageSize = bodies.map(\.count).reduce(0, +) / bodies.count
print("SegmentSpec decode + validate + map, one core, median of \(runs) runs")
print("  whole corpus:       \(bodies.count) events, mean \(averageSize) B -> \(Int(median(all))) events/s")
print("  median-size events: \(medianBodies.count) events of \(medianSize) B ±25% -> \(Int(median(mid))) events/s (target 50000)")
