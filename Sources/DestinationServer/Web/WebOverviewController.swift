import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// The page's overview (`/overview`): is traffic arriving (events per minute over the last
/// hour), what is not mapped, what was sent where and how it went (last 24 hours), what
/// failed lately, and whether the engine keeps up. Charts are SVG drawn here.
struct WebOverviewController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let renderer: WebPageRenderer
    let gate: WebSessionGate

    func add(to router: Router<Context>) {
        router.get("/overview") { request, _ in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            return try await overview(session)
        }
    }

    private func overview(_ session: WebSession) async throws -> Response {
        let workspace = session.identity.workspaceId
        let now = Timestamp(Date())
        let overview = try await store.overview(workspace: workspace, minutes: 60, messageWindow: .seconds(86_400), now: now)
        let total = overview.eventsPerMinute.reduce(0, +)
        let unmapped = try await store.unmappedEventNames(workspace: workspace, after: nil, limit: 5)
        var failures = try await store.messages(workspace: workspace, matching: MessageQuery(status: .undeliverable, limit: 5))
        failures += try await store.messages(workspace: workspace, matching: MessageQuery(status: .unroutable, limit: 5))
        failures.sort { $0.createdAt.millisecondsSince1970 > $1.createdAt.millisecondsSince1970 }
        // Channels, each with its statuses as a stacked bar and in words.
        var channels: [String: [(name: String, count: Int)]] = [:]
        for entry in overview.messagesByChannelAndStatus { channels[entry.channel, default: []].append((entry.status, entry.count)) }
        let channelRows = channels.keys.sorted().map { name -> [String: Any] in
            let parts = channels[name]!.sorted { MessageStatus.order($0.name) < MessageStatus.order($1.name) }
            return [
                "channel": name, "total": String(parts.reduce(0) { $0 + $1.count }), "bar": SparklineChart.stacked(parts),
                "parts": parts.map { ["status": $0.name, "count": String($0.count)] },
            ]
        }
        var context: [String: Any] = [
            "eventsChart": SparklineChart.bars(overview.eventsPerMinute, title: "Events per minute over the last hour: \(total) in all"),
            "eventsTotal": total == 1 ? "1 event" : "\(total) events", "peak": String(overview.eventsPerMinute.max() ?? 0),
            "unmapped": unmapped.map { ["name": $0.name, "count": String($0.count), "encodedName": WebText.query($0.name)] },
            "hasUnmapped": !unmapped.isEmpty,
            "channels": channelRows, "hasChannels": !channelRows.isEmpty,
            "failures": failures.prefix(5).map { WebRunsController<Context>.context($0, now: now) }, "hasFailures": !failures.isEmpty,
            "unprocessed": String(overview.unprocessedEvents),
        ]
        if let oldest = overview.oldestUnprocessedAt {
            context["lag"] = WebText.human(oldest, now: now).replacingOccurrences(of: " ago", with: "")
            context["behind"] = true
        }
        return renderer.page("overview", title: "Overview", context: context, session: session.page, nav: "overview")
    }
}

extension MessageStatus {
    /// Where a status sits in the overview's bars: waiting, then done, then not done.
    static func order(_ name: String) -> Int {
        ["queued", "sent", "delivered", "opened", "clicked", "skipped", "undeliverable", "unroutable"].firstIndex(of: name) ?? 99
    }
}
