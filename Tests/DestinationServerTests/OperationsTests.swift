import AutomationEngine
import SegmentSpec
import Testing

@Suite("Health and Prometheus metrics")
struct OperationsTests {
    @Test("GET /health checks the database, without auth")
    func health() async throws {
        try await LiveHerald.run { herald in
            let reply = try await herald.get("/health")
            #expect(reply.status == 200)
            #expect(reply.body == #"{"status":"ok","database":"ok"}"#)
        }
    }

    @Test("GET /metrics counts requests, events by outcome, and commit batches")
    func metrics() async throws {
        try await LiveHerald.run { herald in
            _ = try await herald.post("/inbound/segment", Payloads.track("m-1"), auth: .basic(herald.ingestKey))
            _ = try await herald.post("/inbound/segment", Payloads.track("m-1"), auth: .basic(herald.ingestKey))
            _ = try await herald.post(
                "/inbound/segment", #"[{"type":"track","userId":"u"},{"type":"Track","userId":"u"},{"type":"purchase","userId":"u"},42]"#,
                auth: .basic(herald.ingestKey))
            _ = try await herald.post("/inbound/segment", "nope", auth: .basic("bad"))
            let text = try await herald.get("/metrics").body
            #expect(text.contains(#"herald_events_total{type="track",outcome="accepted"} 1"#))
            #expect(text.contains(#"herald_events_total{type="track",outcome="duplicate"} 1"#))
            // A rejected event is counted under the call it names; one naming none under "invalid".
            #expect(text.contains(#"herald_events_total{type="track",outcome="rejected"} 2"#))
            #expect(text.contains(#"herald_events_total{type="invalid",outcome="rejected"} 2"#))
            #expect(text.contains(#"herald_http_requests_total{route="/inbound/segment",status="200"} 3"#))
            #expect(text.contains(#"herald_http_requests_total{route="/inbound/segment",status="401"} 1"#))
            #expect(text.contains("herald_commit_batch_events_count 2"))
            #expect(text.contains("herald_commit_duration_seconds_bucket"))
            #expect(text.contains("herald_http_request_duration_seconds_bucket"))
        }
    }
}
