import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// Herald's web page at `/` (DESIGN §4): sign in with an admin key, watch events arrive,
/// map unmapped ones, edit the configuration, follow runs and messages. Server-rendered
/// HTML from Mustache templates, a small stylesheet and a little plain JavaScript, all
/// shipped inside the binary's resources: no build step, no CDN.
struct WebPage<Context: RequestContext>: Sendable {
    let store: any ManagementStorage
    let dryRun: DryRun
    let failures: AuthenticationFailureLog

    func add(to router: Router<Context>) {
        let renderer = WebPageRenderer()
        let gate = WebSessionGate(store: store)
        WebEventsController<Context>(store: store, renderer: renderer, gate: gate, failures: failures).add(to: router)
        WebConfigurationController<Context>(store: store, dryRun: dryRun, renderer: renderer, gate: gate).add(to: router)
        WebRunsController<Context>(store: store, renderer: renderer, gate: gate).add(to: router)
        WebProfilesController<Context>(store: store, renderer: renderer, gate: gate).add(to: router)
        WebOverviewController<Context>(store: store, renderer: renderer, gate: gate).add(to: router)
        PreferencePageController<Context>(store: store, renderer: renderer, now: { Timestamp(Date()) }).add(to: router)
    }
}
