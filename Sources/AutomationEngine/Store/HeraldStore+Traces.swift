import GRDB
public import SegmentSpec

extension HeraldStore {
    /// The explain trace recorded for an event, once the engine processed it.
    public func trace(seq: Int64) async throws -> JSONValue? {
        try await writer.read { db in
            try String.fetchOne(db, sql: "SELECT trace FROM eventTrace WHERE seq = ?", arguments: [seq]).flatMap { try? JSONParser.parse($0) }
        }
    }

    /// The explain traces of these events (those the engine has processed), by seq.
    public func traces(seqs: [Int64]) async throws -> [Int64: JSONValue] {
        guard !seqs.isEmpty else { return [:] }
        return try await writer.read { db in
            var traces: [Int64: JSONValue] = [:]
            let placeholders = Array(repeating: "?", count: seqs.count).joined(separator: ",")
            for row in try Row.fetchAll(db, sql: "SELECT seq, trace FROM eventTrace WHERE seq IN (\(placeholders))", arguments: StatementArguments(seqs)) {
                traces[row["seq"]] = try? JSONParser.parse(row["trace"] as String)
            }
            return traces
        }
    }
}
