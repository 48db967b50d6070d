import Foundation
import HeraldTestSupport
import SegmentSpec
import Testing

@Suite("Segment's direct-tester corpus: every event decodes, validates and re-encodes losslessly")
struct DirectTesterCorpusTests {
    @Test("the corpus holds Segment's current templates and the 295 randomized events")
    func corpusSize() throws {
        let corpus = try DirectTesterCorpus()
        #expect(corpus.templates(in: "random.log").count == 295)
        #expect(corpus.templates.count - corpus.templates(in: "random.log").count >= 91)
    }

    @Test("every event is accepted, maps to a Courier name and re-encodes with nothing lost or changed")
    func everyEvent() throws {
        let corpus = try DirectTesterCorpus()
        var filler = PlaceholderFiller(prefix: "corpus")
        let decoder = PayloadDecoder()
        for template in corpus.templates {
            let text = filler.fill(template.text)
            let body = Array(text.utf8)
            let payload = try decoder.decode(body, endpoint: .destination)
            let decoded = try #require(payload.events.first)
            let event: SegmentEvent
            switch decoded.outcome {
            case .success(let value): event = value
            case .failure(let error):
                Issue.record("\(template.file):\(template.line) rejected: \(error)")
                continue
            }
            #expect(!event.courierName.isEmpty)
            #expect(event.profileId != nil)
            // Round trip through our encoder: structurally identical, member order included.
            let reparsed = try JSONParser.parse(JSONValue.object(event.json).encodedBytes())
            #expect(reparsed == .object(event.json), "\(template.file):\(template.line)")
            // An independent oracle: Foundation sees the same document in both texts.
            let original = try canonical(Data(body), removing: "writeKey")  // credentials are dropped on purpose
            let reencoded = try canonical(Data(JSONValue.object(event.json).encodedBytes()))
            #expect(original == reencoded, "\(template.file):\(template.line)")
        }
    }

    /// Foundation's reading of a document, written back with sorted keys: equal texts mean equal documents.
    private func canonical(_ data: Data, removing key: String? = nil) throws -> String {
        var object = try JSONSerialization.jsonObject(with: data)
        if let key, var dictionary = object as? [String: Any] {
            dictionary[key] = nil
            object = dictionary
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("the corpus sent as one batch: every event accepted with its index")
    func asOneBatch() throws {
        let corpus = try DirectTesterCorpus()
        var filler = PlaceholderFiller(prefix: "batch")
        let events = corpus.templates.map { filler.fill($0.text) }
        let body = "{\"batch\":[" + events.joined(separator: ",") + "],\"sentAt\":\"2026-11-23T10:00:00.000Z\"}"
        let payload = try PayloadDecoder(limits: PayloadLimits(maximumEventBytes: 32 * 1024, maximumRequestBytes: .max, maximumBatchEvents: 2500))
            .decode(Array(body.utf8), endpoint: .batch)
        #expect(payload.events.count == corpus.templates.count)
        for decoded in payload.events {
            #expect((try? decoded.outcome.get()) != nil, "index \(decoded.index)")
        }
    }
}
