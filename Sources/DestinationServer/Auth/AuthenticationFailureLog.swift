import Foundation
import SegmentSpec
import Synchronization

/// The ingest requests refused with 401 lately, so "check the API key" (Courier's first
/// troubleshooting step) can be answered from Herald: the API (`GET /api/auth-failures`)
/// and the web page's empty state list them.
///
/// Held in memory (recent means since the server started) and bounded: one entry per
/// credential, workspace and reason, the 50 most recent. Only a key's visible prefix is kept
/// (`hk_` and 8 characters, what `herald keys list` shows), never a key.
final class AuthenticationFailureLog: Sendable {
    /// One kind of refusal: who (a key prefix, or how the request was signed), for which
    /// workspace when known, why, how often, and when last.
    struct Entry: Sendable, Equatable {
        /// The key's visible prefix followed by "…", "X-Signature", or "no credentials".
        let credential: String
        /// The workspace the request named or the key belongs to; nil when unknown (a key no
        /// workspace has).
        let workspace: String?
        /// The 401's message.
        let reason: String
        /// The endpoint (path without its query).
        var path: String
        var count: Int
        var lastAt: Date
    }

    private struct Key: Hashable {
        let credential: String
        let workspace: String?
        let reason: String
    }

    private let entries = Mutex<[Key: Entry]>([:])
    /// Most entries kept; the least recent goes first.
    static let capacity = 50

    /// Records one refusal.
    func record(credential: String, workspace: String?, reason: String, path: String, at date: Date = Date()) {
        let key = Key(credential: credential, workspace: workspace, reason: reason)
        entries.withLock { entries in
            if var entry = entries[key] {
                entry.count += 1
                entry.lastAt = date
                entry.path = path
                entries[key] = entry
                return
            }
            if entries.count >= Self.capacity, let oldest = entries.min(by: { $0.value.lastAt < $1.value.lastAt })?.key {
                entries[oldest] = nil
            }
            entries[key] = Entry(credential: credential, workspace: workspace, reason: reason, path: path, count: 1, lastAt: date)
        }
    }

    /// What a workspace's admin may see, most recent first: refusals naming the workspace,
    /// and those naming none (a mistyped key belongs to no workspace, and it is exactly what
    /// an admin wondering why nothing arrives needs to see; only its prefix is shown).
    func recent(workspace: String) -> [Entry] {
        entries.withLock { entries in
            entries.values.filter { $0.workspace == nil || $0.workspace == workspace }
        }.sorted { $0.lastAt > $1.lastAt }
    }

    /// How a presented key is shown: its visible prefix and an ellipsis (a short key entirely
    /// would be the whole secret, so at most half of it).
    static func describe(key: String) -> String {
        let shown = min(11, key.count / 2)
        return String(key.prefix(shown)) + "…"
    }
}

extension AuthenticationFailureLog.Entry {
    /// The entry as the API shows it.
    var json: JSONValue {
        .object(JSONObject([
            (key: "credential", value: .string(credential)),
            (key: "workspace", value: workspace.map(JSONValue.string) ?? .null),
            (key: "reason", value: .string(reason)),
            (key: "path", value: .string(path)),
            (key: "count", value: .number(JSONNumber(count))),
            (key: "lastAt", value: .string(Timestamp(lastAt).iso8601)),
        ]))
    }
}
