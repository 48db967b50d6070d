import AutomationEngine
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Segment's direct-tester corpus sent the way the tester sends it")
struct CorpusIngestTests {
    @Test("every corpus event, one POST each with Basic auth, all concurrently: all accepted and stored once")
    func wholeCorpusConcurrently() async throws {
        let corpus = try DirectTesterCorpus()
        var filler = PlaceholderFiller(prefix: "live")
        let bodies = corpus.templates.map { (template: $0, body: filler.fill($0.text)) }
        try await LiveHerald.run { herald in
            let replies = try await withThrowingTaskGroup(of: (String, LiveHerald.Reply).self) { group in
                for item in bodies {
                    group.addTask { ("\(item.template.file):\(item.template.line)", try await herald.post("/inbound/segment", item.body, auth: .basic(herald.ingestKey))) }
                }
                return try await group.reduce(into: [(String, LiveHerald.Reply)]()) { $0.append($1) }
            }
            for (name, reply) in replies {
                #expect(reply.status == 200, "\(name): \(reply.body)")
                #expect(reply.json?["accepted"] == 1, "\(name): \(reply.body)")
            }
            #expect(try await herald.store.eventCount(workspace: "default") == corpus.templates.count)
            let counts = try await herald.store.messageIdCounts(workspace: "default")
            #expect(counts.values.allSatisfy { $0 == 1 })
        }
    }
}
