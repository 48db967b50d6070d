import AutomationEngine
import SegmentSpec

// How the management API shows Herald's records. Times are ISO-8601, absent values null.

extension JSONObject {
    fileprivate mutating func set(_ key: String, _ text: String?) { self[key] = text.map(JSONValue.string) ?? .null }
    fileprivate mutating func set(_ key: String, _ time: Timestamp?) { self[key] = time.map { .string($0.iso8601) } ?? .null }
    fileprivate mutating func set(_ key: String, _ number: Int64) { self[key] = .number(JSONNumber(number)) }
}

extension StoredEvent {
    /// The event as lists show it: how Herald read it, without the raw payload.
    var summaryJSON: JSONObject {
        var object = JSONObject()
        object.set("seq", seq)
        object.set("messageId", messageId)
        object.set("type", type)
        object.set("name", name)
        object.set("userId", userId)
        object.set("anonymousId", anonymousId)
        object.set("receivedAt", receivedAt)
        object.set("timestamp", timestamp)
        object["warnings"] = .array(warnings.map(JSONValue.string))
        return object
    }

    /// The event in full: the summary, its Courier `data`, the decoded `X-Segment-Settings`,
    /// the raw JSON as received and the explain trace (null until the engine processed it).
    func detailJSON(explain: JSONValue?) -> JSONObject {
        var object = summaryJSON
        let json = self.json
        if let event = validated(json) {
            object["data"] = .object(event.courierData)
        } else {
            object["data"] = .null
        }
        object["settings"] = settings.flatMap { try? JSONParser.parse($0) } ?? .null
        object["raw"] = json ?? .string(raw)
        object["explain"] = explain ?? .null
        return object
    }
}

extension RunRecord {
    var json: JSONObject {
        var object = JSONObject()
        object.set("id", id)
        object.set("automation", automation)
        object.set("state", state)
        // A completed run whose delivery failed says so: `completed with failures`.
        object.set("stateDescription", stateDescription)
        object["failedMessages"] = .number(JSONNumber(failedMessages))
        object.set("recipient", recipient)
        object.set("eventSeq", eventSeq)
        object.set("eventName", eventName)
        object["configVersion"] = .number(JSONNumber(configVersion))
        object.set("token", token)
        object["nextStep"] = .number(JSONNumber(nextStep))
        object.set("dueAt", state == "pending" ? dueAt : nil)
        object.set("createdAt", createdAt)
        object.set("updatedAt", updatedAt)
        return object
    }
}

extension RunStepEntry {
    var json: JSONValue {
        var object = JSONObject()
        object["step"] = .number(JSONNumber(step))
        object.set("outcome", outcome)
        object.set("at", at)
        return .object(object)
    }
}

extension MessageRecord {
    /// - Parameter includeId: false for dry-run messages, whose ids are not real.
    func json(includeId: Bool = true) -> JSONObject {
        var object = JSONObject()
        if includeId {
            object.set("id", id)
            object.set("runId", runId)
        }
        object.set("recipient", recipient)
        object.set("channel", channel)
        object.set("channelType", channelType)
        object.set("template", template)
        object.set("subject", subject)
        object.set("body", body)
        object.set("status", status.rawValue)
        object.set("createdAt", createdAt)
        if channelType == "inbox" { object.set("readAt", readAt) }
        object["history"] = .array(history.map { entry in
            var item = JSONObject()
            item.set("status", entry.status.rawValue)
            item.set("reason", entry.reason)
            item.set("at", entry.at)
            return .object(item)
        })
        return object
    }
}

extension ProfileRecord {
    var json: JSONObject {
        var object = JSONObject()
        object.set("id", id)
        object.set("userId", userId)
        object["traits"] = .object(traits)
        object["aliases"] = .array(aliases.map(JSONValue.string))
        object["aliasCount"] = .number(JSONNumber(aliasCount))
        object["groups"] = .array(groups.map(JSONValue.string))
        object["groupCount"] = .number(JSONNumber(groupCount))
        object.set("createdAt", createdAt)
        object.set("updatedAt", updatedAt)
        return object
    }
}

extension GroupRecord {
    var json: JSONObject {
        var object = JSONObject()
        object.set("id", id)
        object["traits"] = .object(traits)
        object["members"] = .array(members.map(JSONValue.string))
        object["memberCount"] = .number(JSONNumber(memberCount))
        object.set("updatedAt", updatedAt)
        return object
    }
}

extension APIKeyRecord {
    var json: JSONObject {
        var object = JSONObject()
        object.set("id", id)
        object.set("scope", scope.rawValue)
        object.set("createdAt", createdAt)
        object.set("revokedAt", revokedAt)
        return object
    }
}

extension DryRunReport {
    var json: JSONValue {
        var object = JSONObject()
        var event = self.event.detailJSON(explain: nil)
        for key in ["seq", "raw", "explain", "settings"] { event[key] = nil }
        object["event"] = .object(event)
        object["configVersion"] = configVersion.map { .number(JSONNumber($0)) } ?? .null
        object["draft"] = .bool(draft)
        object["explain"] = explain
        object["runs"] = .array(runs.map { run in
            var item = JSONObject()
            item.set("automation", run.automation)
            item.set("recipient", run.recipient)
            item.set("startState", run.startState)
            item.set("endState", run.endState)
            item["steps"] = .array(run.steps.map(\.json))
            item["messages"] = .array(run.messages.map { .object($0.json(includeId: false)) })
            item["webhookRequests"] = .array(run.webhookRequests.map(\.json))
            return .object(item)
        })
        return .object(object)
    }
}

extension WebhookRequest {
    /// `{messageId, method, url, headers: [{name, value}], body}`.
    var json: JSONValue {
        var object = JSONObject()
        object.set("messageId", messageId)
        object.set("method", method)
        object.set("url", url)
        object["headers"] = .array(headers.map { .object(JSONObject([(key: "name", value: .string($0.name)), (key: "value", value: .string($0.value))])) })
        object["body"] = body
        return .object(object)
    }
}

extension ReplayReport {
    var json: JSONValue {
        var object = JSONObject()
        object["dryRun"] = .bool(dryRun)
        object["eventsConsidered"] = .number(JSONNumber(eventsConsidered))
        object["runsStarted"] = .number(JSONNumber(runsStarted))
        object["truncated"] = .bool(truncated)
        object["events"] = .array(events.map { entry in
            var item = JSONObject()
            item.set("seq", entry.seq)
            item.set("messageId", entry.messageId)
            item.set("name", entry.name)
            item["started"] = .array(entry.started.map(JSONValue.string))
            item["explain"] = entry.explain
            return .object(item)
        })
        return .object(object)
    }
}
