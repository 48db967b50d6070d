public import Foundation
public import SegmentSpec

/// What the server's management API, web page and authentication ask of a store, by intent:
/// keys and sessions, configuration versions, events, traces, profiles, runs and messages.
///
/// The server's controllers hold an `any ManagementStorage`; only the composition root
/// (`buildApplication`) knows which store it is. ``HeraldStore`` (SQLite) implements it; a
/// second backend implements it beside ``EngineStorage``. Defaults (the current time, page
/// sizes) are in the extension below, so a backend implements each operation once.
package protocol ManagementStorage: Sendable {
    // MARK: Health
    /// True when the database answers a trivial query.
    func isHealthy() async -> Bool

    // MARK: Keys and sessions
    func createKey(workspace: String, scope: KeyScope, now: Timestamp) async throws -> HeraldStore.CreatedKey
    func key(workspace: String, id: String) async throws -> APIKeyRecord?
    func keys(workspace: String, after: String?, limit: Int) async throws -> [APIKeyRecord]
    func revokeKey(id: String, now: Timestamp) async throws -> APIKeyRecord
    func identity(for secret: APIKeySecret) async throws -> KeyIdentity?
    func keyIsValid(hash: Data) async throws -> Bool
    func startWebSession(for identity: KeyIdentity, lifetime: Duration, now: Timestamp) async throws -> (cookie: String, session: WebSession)
    func webSession(cookie: String, now: Timestamp) async throws -> WebSession?
    func endWebSession(cookie: String) async throws
    func rateLimits() async throws -> [String: Int]

    // MARK: Configuration
    func applyConfigurationIfChanged(
        yaml: String, workspace: String, secrets: SecretEnvironment, now: Timestamp
    ) async throws -> ConfigurationApplication
    func currentConfiguration(workspace: String) async throws -> ConfigurationVersion?
    func configurationVersion(workspace: String, number: Int) async throws -> ConfigurationVersion?
    func configurationVersions(workspace: String, before: Int?, limit: Int?) async throws -> [ConfigurationVersion]

    // MARK: Events and traces
    func event(workspace: String, seq: Int64) async throws -> StoredEvent?
    func events(workspace: String, matching query: EventQuery) async throws -> [StoredEvent]
    func events(workspace: String, profile profileId: String, before: Int64?, limit: Int) async throws -> [StoredEvent]
    func events(workspace: String, profileIds ids: [String], before: Int64?, limit: Int) async throws -> [StoredEvent]
    func events(workspace: String, messageId: String) async throws -> [StoredEvent]
    func unmappedEventNames(workspace: String, after position: EventNamePosition?, limit: Int) async throws -> [EventNameCount]
    func trace(seq: Int64) async throws -> JSONValue?
    func traces(seqs: [Int64]) async throws -> [Int64: JSONValue]

    /// The page's overview: events per minute, messages by channel and status, the engine's backlog.
    func overview(workspace: String, minutes: Int, messageWindow: Duration, now: Timestamp) async throws -> WorkspaceOverview

    // MARK: Profiles and groups
    func profile(workspace: String, id: String) async throws -> ProfileRecord?
    func profiles(workspace: String, ids: [String]) async throws -> [ProfileRecord]
    func group(workspace: String, id: String) async throws -> GroupRecord?
    func groupMembers(workspace: String, groupId: String, after: String?, limit: Int) async throws -> [String]

    // MARK: Runs
    func runs(workspace: String, matching query: RunQuery) async throws -> [RunRecord]
    func run(workspace: String, id: Int64) async throws -> RunRecord?
    func runHistory(runId: Int64) async throws -> [RunStepEntry]
    func cancelRun(workspace: String, id: Int64, reason: String, now: Timestamp) async throws -> RunRecord
    func cancelRuns(workspace: String, token: String, ttl: Duration, now: Timestamp) async throws -> (cancelled: [Int64], inForceUntil: Timestamp)

    // MARK: Messages and inboxes
    func messages(workspace: String, matching query: MessageQuery) async throws -> [MessageRecord]
    func messages(workspace: String, runId: Int64) async throws -> [MessageRecord]
    func message(workspace: String, id: String) async throws -> MessageRecord?
    func inbox(workspace: String, user: String, before: String?, limit: Int) async throws -> [MessageRecord]
    func unreadCount(workspace: String, user: String) async throws -> Int
    func markRead(workspace: String, user: String, messageId: String, now: Timestamp) async throws -> MessageRecord?

    // MARK: Reports of what happened to a message, and tracking
    func messageOrigin(id: String) async throws -> MessageOrigin?
    func recordReport(_ report: MessageReport, messageId id: String, workspace: String, at time: Timestamp) async throws -> MessageReportResult?
    func configuration(workspace: String, version: Int) async throws -> HeraldConfiguration?
    func trackingKey() async throws -> Data
    func trackedLink(messageId id: String, index: Int) async throws -> (workspace: String, url: String)?
    func trackedMessageWorkspace(id: String) async throws -> String?

    // MARK: Preferences
    func preferences(workspace: String, profileId: String) async throws -> [PreferenceRecord]
    func preferenceChanges(workspace: String, profileId: String, limit: Int) async throws -> [PreferenceChangeRecord]
    func setPreferences(
        workspace: String, profileId: String, _ choices: [PreferenceChoice], source: PreferenceSource, at time: Timestamp
    ) async throws -> [PreferenceChangeRecord]
    func preferenceSigningKey(workspace: String) async throws -> [UInt8]
    func existingPreferenceSigningKey(workspace: String) async throws -> [UInt8]?
}

extension ManagementStorage {
    /// Creates a key now.
    package func createKey(workspace: String, scope: KeyScope) async throws -> HeraldStore.CreatedKey {
        try await createKey(workspace: workspace, scope: scope, now: Timestamp(Date()))
    }

    /// Revokes a key now.
    package func revokeKey(id: String) async throws -> APIKeyRecord {
        try await revokeKey(id: id, now: Timestamp(Date()))
    }

    /// Starts a web session now.
    package func startWebSession(for identity: KeyIdentity, lifetime: Duration) async throws -> (cookie: String, session: WebSession) {
        try await startWebSession(for: identity, lifetime: lifetime, now: Timestamp(Date()))
    }

    /// The session of `cookie` if it is still valid now.
    package func webSession(cookie: String) async throws -> WebSession? {
        try await webSession(cookie: cookie, now: Timestamp(Date()))
    }

    /// Applies `yaml` now, reading the secrets the process's environment gives the workspace.
    package func applyConfigurationIfChanged(yaml: String, workspace: String) async throws -> ConfigurationApplication {
        try await applyConfigurationIfChanged(yaml: yaml, workspace: workspace, secrets: .process(), now: Timestamp(Date()))
    }

    /// Applies `yaml` now with `secrets`.
    package func applyConfigurationIfChanged(yaml: String, workspace: String, secrets: SecretEnvironment) async throws -> ConfigurationApplication {
        try await applyConfigurationIfChanged(yaml: yaml, workspace: workspace, secrets: secrets, now: Timestamp(Date()))
    }

    /// Event names nothing is mapped to, most recent first.
    package func unmappedEventNames(workspace: String, limit: Int) async throws -> [EventNameCount] {
        try await unmappedEventNames(workspace: workspace, after: nil, limit: limit)
    }
}

extension HeraldStore: ManagementStorage {}
