import AsyncHTTPClient
public import SegmentClient

/// The Segment client's requests through ``OutboundHTTPClient``: a workspace's `segment.endpoint`
/// is configured by its admin, so it may reach only what webhooks may reach (public addresses,
/// or those the operator allowed), and a redirect is never followed.
public struct OutboundSegmentTransport: SegmentTransport {
    private let outbound: OutboundHTTPClient

    /// A transport through `outbound`.
    public init(outbound: OutboundHTTPClient) {
        self.outbound = outbound
    }

    public func post(url: String, headers: [(String, String)], body: [UInt8], timeout: Duration) async throws -> SegmentResponse {
        try await outbound.execute(.segmentPost(url: url, headers: headers, body: body), timeout: timeout) { response in
            try await SegmentResponse(response)
        }
    }
}
