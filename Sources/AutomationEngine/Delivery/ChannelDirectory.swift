import Synchronization

/// What the delivery service needs to know of a configured channel besides how to deliver.
public struct ChannelSettings: Sendable, Hashable {
    /// Longest a channel may take over one attempt (a webhook's `timeout` is at most this).
    public static let maximumTimeout: Duration = .seconds(60)
    /// Attempts in flight to the channel unless it sets `concurrency:`.
    public static let defaultConcurrency = 16
    /// The most a channel's `concurrency:` may allow.
    public static let maximumConcurrency = 256

    /// The channel's type, for metrics (`webhook`).
    public let type: String
    /// Attempts in flight to it at most.
    public let concurrency: Int
}

/// Makes the ``DeliveryChannel`` of each configured channel, once per configuration version.
///
/// Channels delivered at step time (`inbox`, `log`) have none: the factory returns nil.
public final class ChannelDirectory: Sendable {
    private struct Key: Hashable {
        let workspace: String
        let version: Int
        let channel: String
    }

    private let make: @Sendable (HeraldConfiguration.Channel) -> (any DeliveryChannel)?
    private let made = Mutex<[Key: (channel: any DeliveryChannel, settings: ChannelSettings)]>([:])

    /// A directory whose channels `make` builds from their configuration.
    public init(make: @escaping @Sendable (HeraldConfiguration.Channel) -> (any DeliveryChannel)?) {
        self.make = make
    }

    /// The channel named `name` in configuration `version` of `workspace`, or nil when that
    /// version has no such delivery channel.
    /// - Throws: when the version cannot be read or parsed.
    func channel(named name: String, workspace: String, version: Int, store: any EngineStorage) async throws
        -> (channel: any DeliveryChannel, settings: ChannelSettings)?
    {
        let key = Key(workspace: workspace, version: version, channel: name)
        if let known = made.withLock({ $0[key] }) { return known }
        guard let configuration = try await store.configuration(workspace: workspace, version: version),
            let configured = configuration.channels.first(where: { $0.name == name }),
            let channel = make(configured)
        else { return nil }
        let entry = (channel: channel, settings: ChannelSettings(
            type: configured.kind.typeName, concurrency: configured.concurrency ?? ChannelSettings.defaultConcurrency))
        made.withLock { cache in
            if cache.count >= 4_096 { cache.removeAll() }
            cache[key] = entry
        }
        return entry
    }
}
