public import Foundation

/// One call at a time, each sent at once in a batch of its own, naming the client's library.
/// To send many calls, build ``SegmentMessage``s and pass them to ``SegmentClient/send(_:)``.
extension SegmentClient {
    /// Sends an identify call (see ``SegmentMessage/identify(_:traits:context:timestamp:messageId:library:)``).
    public func identify(
        _ identity: SegmentIdentity, traits: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil
    ) async -> SegmentBatchResult {
        await send(.identify(identity, traits: traits, context: context, timestamp: timestamp, messageId: messageId, library: configuration.library))
    }

    /// Sends a track call.
    public func track(
        _ event: String, identity: SegmentIdentity, properties: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil
    ) async -> SegmentBatchResult {
        await send(.track(event, identity: identity, properties: properties, context: context, timestamp: timestamp, messageId: messageId,
                          library: configuration.library))
    }

    /// Sends a page call.
    public func page(
        _ name: String?, identity: SegmentIdentity, properties: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil
    ) async -> SegmentBatchResult {
        await send(.page(name, identity: identity, properties: properties, context: context, timestamp: timestamp, messageId: messageId,
                         library: configuration.library))
    }

    /// Sends a screen call.
    public func screen(
        _ name: String?, identity: SegmentIdentity, properties: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil
    ) async -> SegmentBatchResult {
        await send(.screen(name, identity: identity, properties: properties, context: context, timestamp: timestamp, messageId: messageId,
                           library: configuration.library))
    }

    /// Sends a group call.
    public func group(
        _ groupId: String, identity: SegmentIdentity, traits: [String: SegmentValue] = [:], context: [String: SegmentValue] = [:],
        timestamp: Date = Date(), messageId: String? = nil
    ) async -> SegmentBatchResult {
        await send(.group(groupId, identity: identity, traits: traits, context: context, timestamp: timestamp, messageId: messageId,
                          library: configuration.library))
    }

    /// Sends an alias call.
    public func alias(
        userId: String, previousId: String, context: [String: SegmentValue] = [:], timestamp: Date = Date(), messageId: String? = nil
    ) async -> SegmentBatchResult {
        await send(.alias(userId: userId, previousId: previousId, context: context, timestamp: timestamp, messageId: messageId,
                          library: configuration.library))
    }
}
