import AutomationEngine
import Foundation
import Hummingbird
import SegmentSpec

/// A profile's notification preferences (admin key):
/// - `GET /api/profiles/{id}/preferences`: every topic of the configuration in force with the
///   recipient's status on every channel and per channel, their stored choices, the
///   `unsubscribed` trait, the latest changes (source and time) and their preference link;
/// - `PUT /api/profiles/{id}/preferences` with `{"choices": [{"topic", "channel"?, "status"}]}`:
///   records each choice (source `api`); `topic` is a topic's name or `*` (every topic),
///   `channel` a channel's name or `*` (every channel, the default), `status` `opt_in` or
///   `opt_out`. Answers like GET.
struct PreferencesController<Parent: RequestContext>: Sendable {
    typealias Context = AdminRequestContext<Parent>
    /// Choices one request may make at most.
    static var maximumChoices: Int { 100 }
    let store: any ManagementStorage
    let bodyReader: RequestBodyReader
    let links: PreferenceLinks

    /// The routes, relative to `/api`; mounted behind ``AdminAuthenticationMiddleware``.
    var routes: RouteCollection<Context> {
        let router = RouteCollection(context: Context.self)
        router.get("profiles/{id}/preferences") { request, context in
            let (workspace, profile) = try await profile(request, context, admin: context.identity)
            return JSONResponse.make(body: try await document(workspace: workspace, profile: profile))
        }
        router.put("profiles/{id}/preferences") { request, context in
            let (workspace, profile) = try await profile(request, context, admin: context.identity)
            let body = try await RequestJSON.object(from: request, reader: bodyReader)
            let configuration = try await configuration(of: workspace)
            let choices = try Self.choices(in: body, configuration: configuration)
            _ = try await store.setPreferences(workspace: workspace, profileId: profile.id, choices, source: .api, at: Timestamp(Date()))
            return JSONResponse.make(body: try await document(workspace: workspace, profile: profile))
        }
        return router
    }

    /// The choices of a PUT body, each checked against the configuration in force.
    static func choices(in body: JSONObject, configuration: HeraldConfiguration?) throws -> [PreferenceChoice] {
        guard let list = body["choices"]?.arrayValue else {
            throw HeraldHTTPError.badRequest(#"send {"choices": [{"topic": "<topic or *>", "channel": "<channel or *>", "status": "opt_in" or "opt_out"}]}"#)
        }
        guard list.count <= maximumChoices else { throw HeraldHTTPError.badRequest("at most \(maximumChoices) choices per request (\(list.count) sent)") }
        return try list.enumerated().map { index, value in
            guard let object = value.objectValue else { throw HeraldHTTPError.badRequest("choices[\(index)] must be an object") }
            for key in object.keys where !["topic", "channel", "status"].contains(key) {
                throw HeraldHTTPError.badRequest("choices[\(index)] has an unknown field `\(key)`; expected `topic`, `channel`, `status`")
            }
            guard let topic = object["topic"]?.stringValue else { throw HeraldHTTPError.badRequest("choices[\(index)] needs `topic`: a topic's name or `*`") }
            guard topic == PreferenceChoice.all || configuration?.topic(named: topic) != nil else {
                let known = (configuration?.topics.map { "`\($0.name)`" } ?? []).joined(separator: ", ")
                throw HeraldHTTPError.badRequest("choices[\(index)]: no topic `\(topic)` in the configuration in force" + (known.isEmpty ? " (it declares none)" : "; topics: \(known)"))
            }
            let channel = object["channel"]?.stringValue ?? PreferenceChoice.all
            if object["channel"] != nil && object["channel"]?.stringValue == nil {
                throw HeraldHTTPError.badRequest("choices[\(index)].channel must be a channel's name or `*`")
            }
            guard channel == PreferenceChoice.all || configuration?.channels.contains(where: { $0.name == channel }) == true else {
                throw HeraldHTTPError.badRequest("choices[\(index)]: no channel `\(channel)` in the configuration in force")
            }
            guard let text = object["status"]?.stringValue, let status = PreferenceStatus(rawValue: text) else {
                throw HeraldHTTPError.badRequest("choices[\(index)] needs `status`: `opt_in` or `opt_out`")
            }
            return PreferenceChoice(topic: topic, channel: channel, status: status)
        }
    }

    private func document(workspace: String, profile: ProfileRecord) async throws -> JSONValue {
        let configuration = try await configuration(of: workspace)
        let records = try await store.preferences(workspace: workspace, profileId: profile.id)
        let changes = try await store.preferenceChanges(workspace: workspace, profileId: profile.id, limit: 50)
        let all = PreferenceChoice.all
        let topics: [JSONValue] = (configuration?.topics ?? []).map { topic in
            var channels = JSONObject()
            for channel in configuration?.channels ?? [] {
                let isEmail: Bool
                if case .smtp = channel.kind { isEmail = true } else { isEmail = false }
                let blocked = PreferenceCheck.blockingReason(topic: topic, channel: channel.name, isEmail: isEmail, choices: records, traits: profile.traits)
                channels[channel.name] = .string(blocked == nil ? PreferenceStatus.optIn.rawValue : PreferenceStatus.optOut.rawValue)
            }
            let stored = records.first { $0.choice.topic == topic.name && $0.choice.channel == all }?.choice.status
                ?? records.first { $0.choice.topic == all && $0.choice.channel == all }?.choice.status
            return [
                "topic": .string(topic.name), "label": .string(topic.label), "default": .string(topic.defaultStatus.rawValue),
                "status": .string((stored ?? topic.defaultStatus).rawValue), "channels": .object(channels),
            ]
        }
        var url: JSONValue = .null
        if links.baseURL != nil {
            let key = try await store.preferenceSigningKey(workspace: workspace)
            url = links.pageURL(token: PreferenceToken.make(workspace: workspace, profileId: profile.id, key: key)).map(JSONValue.string) ?? .null
        }
        return [
            "profileId": .string(profile.id),
            "topics": .array(topics),
            "choices": .array(records.map { record in
                [
                    "topic": .string(record.choice.topic), "channel": .string(record.choice.channel), "status": .string(record.choice.status.rawValue),
                    "source": .string(record.source), "updatedAt": .string(record.updatedAt.iso8601),
                ]
            }),
            "unsubscribed": .bool(profile.traits[PreferenceCheck.unsubscribedTrait] == .bool(true)),
            "history": .array(changes.map { change in
                [
                    "topic": .string(change.choice.topic), "channel": .string(change.choice.channel), "status": .string(change.choice.status.rawValue),
                    "source": .string(change.source), "at": .string(change.at.iso8601),
                ]
            }),
            "preferencesUrl": url,
        ]
    }

    private func configuration(of workspace: String) async throws -> HeraldConfiguration? {
        guard let current = try await store.currentConfiguration(workspace: workspace) else { return nil }
        return try await store.configuration(workspace: workspace, version: current.version)
    }

    private func profile(_ request: Request, _ context: Context, admin identity: KeyIdentity) async throws -> (String, ProfileRecord) {
        let id = context.parameters.path("id")
        guard let profile = try await store.profile(workspace: identity.workspaceId, id: id) else {
            throw HeraldHTTPError(.notFound, "no profile \"\(id)\" in workspace \(identity.workspaceId): profiles are made by identify, track and the other calls once the engine has processed them")
        }
        return (identity.workspaceId, profile)
    }
}
