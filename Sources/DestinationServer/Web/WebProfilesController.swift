import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// A profile on the page (`/profiles/{id}`, any of its ids): its traits and groups, then one
/// timeline of what happened to it, newest first: the events it sent, the runs they started
/// and the messages it was sent, each linked.
struct WebProfilesController<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let renderer: WebPageRenderer
    let gate: WebSessionGate

    /// Entries of each kind read for the timeline.
    static var timelineLength: Int { 100 }

    func add(to router: Router<Context>) {
        router.get("/profiles/{id}") { request, context in
            guard let session = try await gate.session(request) else { return WebSessionGate.redirect("/sign-in") }
            return try await profile(session, id: context.parameters.path("id"))
        }
    }

    private func profile(_ session: WebSession, id: String) async throws -> Response {
        let workspace = session.identity.workspaceId
        guard let profile = try await store.profile(workspace: workspace, id: id) else {
            return renderer.page(
                "not-found", title: "Not found",
                context: ["message": "There is no profile \(id) in this workspace: no identify, track or other event has named this user yet."],
                session: session.page, status: .notFound)
        }
        let now = Timestamp(Date())
        let length = Self.timelineLength
        let events = try await store.events(workspace: workspace, profile: profile.id, before: nil, limit: length)
        let runs = try await store.runs(workspace: workspace, matching: RunQuery(recipient: profile.id, limit: length))
        let messages = try await store.messages(workspace: workspace, matching: MessageQuery(recipient: profile.id, limit: length))
        // One timeline; at equal times an event comes before the run it started, a run before its message.
        var entries: [(at: Int64, order: Int, entry: [String: Any])] = []
        for event in events {
            var entry: [String: Any] = [
                "kind": "event", "isEvent": true, "at": WebText.time(event.receivedAt, now: now), "href": "/events/\(event.seq)", "title": event.name,
            ]
            if event.name != event.type { entry["detail"] = event.type }  // `track/Order Completed` (track), not `identify` (identify)
            entries.append((event.receivedAt.millisecondsSince1970, 0, entry))
        }
        for run in runs {
            let context = WebRunsController<Context>.context(run, now: now)
            entries.append((run.createdAt.millisecondsSince1970, 1, [
                "kind": "run", "isRun": true, "at": context["createdAt"]!, "href": "/runs/\(run.id)",
                "title": "run #\(run.id) of \(run.automation)", "state": run.stateDescription, "stateClass": context["stateClass"]!,
            ]))
        }
        for message in messages {
            let context = WebRunsController<Context>.context(message, now: now)
            var entry: [String: Any] = [
                "kind": "message", "isMessage": true, "at": context["createdAt"]!, "href": context["href"]!,
                "title": "\(message.template) via \(message.channel ?? "no channel")", "state": message.status.rawValue, "stateClass": message.status.rawValue,
            ]
            if let subject = message.subject, !subject.isEmpty { entry["detail"] = subject }
            if let failure = context["failure"] { entry["failure"] = failure }
            entries.append((message.createdAt.millisecondsSince1970, 2, entry))
        }
        entries.sort { ($0.at, $0.order) > ($1.at, $1.order) }
        let traits = JSONValue.object(profile.traits)
        let context: [String: Any] = [
            "id": profile.id, "userId": profile.userId ?? "", "hasUserId": profile.userId != nil,
            "traits": traits.prettyText, "hasTraits": !profile.traits.isEmpty, "traitCount": String(profile.traits.count),
            "aliases": profile.aliases, "hasAliases": !profile.aliases.isEmpty,
            "groups": profile.groups, "hasGroups": !profile.groups.isEmpty,
            "createdAt": WebText.time(profile.createdAt, now: now), "updatedAt": WebText.time(profile.updatedAt, now: now),
            "timeline": entries.map(\.entry), "hasTimeline": !entries.isEmpty,
            "counts": "\(events.count) event\(events.count == 1 ? "" : "s"), \(runs.count) run\(runs.count == 1 ? "" : "s"), \(messages.count) message\(messages.count == 1 ? "" : "s")"
                + (events.count == length || runs.count == length || messages.count == length ? " (the latest \(length) of each)" : ""),
        ]
        return renderer.page("profile", title: profile.id, context: context, session: session.page, nav: "events")
    }
}
