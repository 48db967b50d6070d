import Foundation
import GRDB
import SegmentSpec

extension HeraldStore {
    /// The schema's history. A shipped migration is never edited; changes get a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: workspaces, keys, event log, dedup, erasures") { db in
            try db.create(table: "workspace") { t in
                t.primaryKey("id", .text)
                t.column("createdAt", .integer).notNull()
                t.column("eventsPerSecondLimit", .integer)  // nil: no rate limit
            }
            try db.create(table: "apiKey") { t in
                t.primaryKey("id", .text)  // the key's visible prefix, e.g. hk_AbC123xy
                t.column("workspaceId", .text).notNull().references("workspace", onDelete: .cascade)
                t.column("scope", .text).notNull()
                t.column("hash", .blob).notNull().unique()
                t.column("createdAt", .integer).notNull()
                t.column("revokedAt", .integer)
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("seq")  // AUTOINCREMENT: erasure never lets a seq be reused
                t.column("workspaceId", .text).notNull()
                t.column("messageId", .text).notNull()
                t.column("type", .text).notNull()
                t.column("name", .text).notNull()
                t.column("userId", .text)
                t.column("anonymousId", .text)
                t.column("receivedAt", .integer).notNull()  // epoch ms, server clock
                t.column("timestamp", .integer).notNull()  // epoch ms, skew-corrected
                t.column("settings", .text)  // decoded X-Segment-Settings
                t.column("warnings", .text)  // JSON array of strings
                t.column("raw", .text).notNull()  // the event as received
            }
            try db.create(index: "event_recent", on: "event", columns: ["workspaceId", "seq"])
            try db.execute(sql: "CREATE INDEX event_user ON event(workspaceId, userId) WHERE userId IS NOT NULL")
            try db.execute(sql: "CREATE INDEX event_anonymous ON event(workspaceId, anonymousId) WHERE anonymousId IS NOT NULL")
            try db.execute(sql: """
                CREATE TABLE dedup (
                    workspaceId TEXT NOT NULL,
                    messageId TEXT NOT NULL,
                    receivedAt INTEGER NOT NULL,
                    PRIMARY KEY (workspaceId, messageId)
                ) WITHOUT ROWID
                """)
            try db.create(index: "dedup_age", on: "dedup", columns: ["receivedAt"])
            try db.create(table: "erasure") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workspaceId", .text).notNull()
                t.column("messageId", .text).notNull()
                t.column("erasedAt", .integer).notNull()
                t.column("eventsErased", .integer).notNull()
            }
        }
        migrator.registerMigration("v2: configuration versions") { db in
            try db.create(table: "configVersion") { t in
                t.column("workspaceId", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("yaml", .text).notNull()
                t.column("appliedAt", .integer).notNull()
                t.primaryKey(["workspaceId", "version"])
            }
        }
        migrator.registerMigration("v3: profiles, groups, engine cursor, explain traces, once-per ledger, cancellations, runs") { db in
            try db.create(table: "profile") { t in
                t.column("workspaceId", .text).notNull()
                t.column("profileId", .text).notNull()  // userId, else anonymousId
                t.column("userId", .text)
                t.column("traits", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
                t.primaryKey(["workspaceId", "profileId"])
            }
            try db.create(table: "profileAlias") { t in
                t.column("workspaceId", .text).notNull()
                t.column("alias", .text).notNull()  // an anonymousId or previousId now known as profileId
                t.column("profileId", .text).notNull()
                t.primaryKey(["workspaceId", "alias"])
            }
            try db.create(table: "groupRecord") { t in
                t.column("workspaceId", .text).notNull()
                t.column("groupId", .text).notNull()
                t.column("traits", .text).notNull()
                t.column("updatedAt", .integer).notNull()
                t.primaryKey(["workspaceId", "groupId"])
            }
            try db.create(table: "membership") { t in
                t.column("workspaceId", .text).notNull()
                t.column("groupId", .text).notNull()
                t.column("profileId", .text).notNull()
                t.primaryKey(["workspaceId", "groupId", "profileId"])
            }
            try db.create(table: "engineCursor") { t in
                t.primaryKey("id", .integer)
                t.column("lastSeq", .integer).notNull()
            }
            try db.create(table: "eventTrace") { t in
                t.primaryKey("seq", .integer)
                t.column("workspaceId", .text).notNull()
                t.column("trace", .text).notNull()
            }
            try db.create(table: "oncePerLedger") { t in
                t.column("workspaceId", .text).notNull()
                t.column("mappingKey", .text).notNull()
                t.column("subject", .text).notNull()
                t.column("ranAt", .integer).notNull()
                t.primaryKey(["workspaceId", "mappingKey", "subject"])
            }
            try db.create(table: "cancellation") { t in
                t.column("workspaceId", .text).notNull()
                t.column("token", .text).notNull()
                t.column("until", .integer).notNull()
                t.primaryKey(["workspaceId", "token"])
            }
            try db.create(table: "run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workspaceId", .text).notNull()
                t.column("automation", .text).notNull()
                t.column("configVersion", .integer).notNull()
                t.column("recipient", .text).notNull()
                t.column("eventSeq", .integer).notNull()
                t.column("scope", .text).notNull()  // {data, traits, profile, group, event} at start
                t.column("token", .text)
                t.column("state", .text).notNull()  // pending, cancelled, completed
                t.column("nextStep", .integer).notNull()
                t.column("dueAt", .integer).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
            }
            try db.create(index: "run_due", on: "run", columns: ["state", "dueAt"])
            try db.create(index: "run_token", on: "run", columns: ["workspaceId", "token"])
        }
        migrator.registerMigration("v4: run history, messages and their status history") { db in
            try db.create(table: "runStep") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("runId", .integer).notNull().indexed()
                t.column("step", .integer).notNull()
                t.column("outcome", .text).notNull()
                t.column("at", .integer).notNull()
            }
            try db.create(table: "message") { t in
                t.primaryKey("id", .text)  // stable: run-<run id>-step-<index>, so a retried step never sends twice
                t.column("workspaceId", .text).notNull()
                t.column("runId", .integer).notNull()
                t.column("recipient", .text).notNull()
                t.column("channel", .text)
                t.column("template", .text).notNull()
                t.column("subject", .text)
                t.column("body", .text)
                t.column("status", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("updatedAt", .integer).notNull()
            }
            try db.create(index: "message_recipient", on: "message", columns: ["workspaceId", "recipient"])
            try db.create(table: "messageStatus") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("messageId", .text).notNull().indexed()
                t.column("status", .text).notNull()
                t.column("reason", .text)
                t.column("at", .integer).notNull()
            }
        }
        migrator.registerMigration("v5: webhook delivery attempts") { db in
            try db.alter(table: "message") { t in
                t.add(column: "attempts", .integer).notNull().defaults(to: 0)
                t.add(column: "nextAttemptAt", .integer)
            }
            try db.create(index: "message_due", on: "message", columns: ["status", "nextAttemptAt"])
        }
        migrator.registerMigration("v6: inbox read state, event name counts, run look-up by event") { db in
            try db.alter(table: "message") { t in
                t.add(column: "channelType", .text)  // webhook, inbox, log: the inbox is messages of type inbox
                t.add(column: "readAt", .integer)
            }
            try db.execute(sql: "UPDATE message SET channelType = 'inbox' WHERE id IN (SELECT messageId FROM messageStatus WHERE reason LIKE 'stored in %inbox')")
            try db.create(index: "run_event", on: "run", columns: ["eventSeq", "automation"])
            try db.create(index: "run_recipient", on: "run", columns: ["workspaceId", "recipient"])
            // Maintained by the engine as it consumes the log: names received, how often, when last.
            try db.create(table: "eventName") { t in
                t.column("workspaceId", .text).notNull()
                t.column("name", .text).notNull()
                t.column("count", .integer).notNull()
                t.column("lastSeenAt", .integer).notNull()
                t.primaryKey(["workspaceId", "name"])
            }
            try db.execute(sql: """
                INSERT INTO eventName (workspaceId, name, count, lastSeenAt)
                SELECT workspaceId, name, COUNT(*), MAX(receivedAt) FROM event
                WHERE seq <= COALESCE((SELECT lastSeq FROM engineCursor WHERE id = 1), 0)
                GROUP BY workspaceId, name
                """)
        }
        migrator.registerMigration("v7: web page sessions") { db in
            try db.create(table: "webSession") { t in
                t.primaryKey("tokenHash", .blob)  // SHA-256 of the cookie's value; the value itself is never stored
                t.column("keyId", .text).notNull().references("apiKey", onDelete: .cascade)
                t.column("csrf", .text).notNull()
                t.column("createdAt", .integer).notNull()
                t.column("expiresAt", .integer).notNull()
            }
        }
        migrator.registerMigration("v8: messages by run, channel types of older messages, credentials out of stored settings") { db in
            try db.create(index: "message_run", on: "message", columns: ["runId"])
            try db.execute(sql: """
                UPDATE message SET channelType = CASE
                    WHEN id IN (SELECT messageId FROM messageStatus WHERE reason = 'queued for the webhook') THEN 'webhook'
                    WHEN id IN (SELECT messageId FROM messageStatus WHERE reason = 'written to the log') THEN 'log'
                    ELSE channelType END
                WHERE channelType IS NULL
                """)
            // Settings stored before credentials were redacted at ingest.
            let rows = try Row.fetchAll(db, sql: "SELECT seq, settings FROM event WHERE settings IS NOT NULL")
            for row in rows {
                guard let parsed = try? JSONParser.parse(row["settings"] as String) else { continue }
                let redacted = SegmentSettings.redactingCredentials(parsed).encodedString()
                if redacted != row["settings"] as String {
                    try db.execute(sql: "UPDATE event SET settings = ? WHERE seq = ?", arguments: [redacted, row["seq"] as Int64])
                }
            }
        }
        migrator.registerMigration("v9: profile look-ups by profile id (alias merges, memberships, erasure)") { db in
            try db.create(index: "profileAlias_profile", on: "profileAlias", columns: ["workspaceId", "profileId"])
            try db.create(index: "membership_profile", on: "membership", columns: ["workspaceId", "profileId"])
        }
        migrator.registerMigration("v10: once_per ledger keyed by the mapping's identity, not its line") { db in
            // Keys were "<line>:<on>-><automation>"; a comment added above a mapping changed the
            // line and the welcome series ran again. Keep the earliest run per new key.
            try db.execute(sql: """
                INSERT OR IGNORE INTO oncePerLedger (workspaceId, mappingKey, subject, ranAt)
                SELECT workspaceId, substr(mappingKey, instr(mappingKey, ':') + 1), subject, MIN(ranAt) FROM oncePerLedger
                WHERE mappingKey GLOB '[0-9]*:*' GROUP BY workspaceId, substr(mappingKey, instr(mappingKey, ':') + 1), subject
                """)
            try db.execute(sql: "DELETE FROM oncePerLedger WHERE mappingKey GLOB '[0-9]*:*'")
        }
        migrator.registerMigration("v11: settings credentials redacted by pattern") { db in
            // Settings stored when only a few names were redacted (`bearer`, `pass`, `pwd`, `sig`
            // and URL credentials were kept in clear).
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, settings FROM event WHERE settings IS NOT NULL")
            var updates: [(seq: Int64, settings: String)] = []
            while let row = try rows.next() {
                guard let parsed = try? JSONParser.parse(row["settings"] as String) else { continue }
                let redacted = SegmentSettings.redactingCredentials(parsed).encodedString()
                if redacted != row["settings"] as String { updates.append((row["seq"], redacted)) }
            }
            for update in updates {
                try db.execute(sql: "UPDATE event SET settings = ? WHERE seq = ?", arguments: [update.settings, update.seq])
            }
        }
        migrator.registerMigration("v12: keys by workspace") { db in
            // Active keys counted per workspace on creation; pages of keys in creation order.
            try db.create(index: "apiKey_workspace", on: "apiKey", columns: ["workspaceId", "createdAt", "id"])
        }
        migrator.registerMigration("v13: event names by recency") { db in
            // Pages of unmapped names, most recent first, read in index order.
            try db.create(index: "eventName_recent", on: "eventName", columns: ["workspaceId", "lastSeenAt", "name"])
        }
        migrator.registerMigration("v14: Courier's message statuses, delivery leases, the attempt of each status") { db in
            // `sent` used to mean "waiting for the webhook" and `delivered` "the channel took
            // it"; they are now `queued` and `sent` (`delivered` is the provider's confirmation).
            for table in ["message", "messageStatus"] {
                try db.execute(sql: """
                    UPDATE \(table) SET status = CASE status WHEN 'sent' THEN 'queued' WHEN 'retrying' THEN 'queued' WHEN 'delivered' THEN 'sent' END
                    WHERE status IN ('sent', 'retrying', 'delivered')
                    """)
            }
            try db.alter(table: "message") { t in t.add(column: "leaseUntil", .integer) }
            try db.alter(table: "messageStatus") { t in t.add(column: "attempt", .integer) }
        }
        // From here the names are identifiers given by parallel branches (v15–v18); what counts
        // is the order of registration, which is the order they run in. Never reorder or rename.
        migrator.registerMigration("v18: due indexes hold only what is still due, by endpoint for messages") { db in
            // Only pending runs and queued messages are ever looked up by due time. Indexing
            // the finished ones too kept every completed run and sent message in these indexes,
            // and made each step that ends a run or sends a message move an index entry.
            try db.execute(sql: "DROP INDEX run_due")
            try db.execute(sql: "CREATE INDEX run_due ON run(dueAt) WHERE state = 'pending'")
            try db.execute(sql: "DROP INDEX message_due")
            try db.execute(sql: "CREATE INDEX message_due ON message(nextAttemptAt) WHERE status = 'queued'")
            // Claims read each endpoint's queue as its own range: a full or broken endpoint's
            // long queue is skipped with one seek instead of scanned by every claim.
            try db.execute(sql: "CREATE INDEX message_endpoint_due ON message(workspaceId, channel, nextAttemptAt) WHERE status = 'queued'")
        }
        migrator.registerMigration("v16: the Segment outbox") { db in
            // Calls to a workspace's Segment source, each written in the transaction of the
            // change that causes it and deleted once Segment took it; `key` makes a logical
            // event (a message's `Message Opened`) one row however often it is recorded.
            try db.create(table: "segmentOutbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workspaceId", .text).notNull()
                t.column("key", .text).notNull()
                t.column("subject", .text)  // the userId or anonymousId the call is about (a `delete` erases it)
                t.column("messageId", .text).notNull()  // Segment's dedup id, kept across every attempt
                t.column("call", .text).notNull()  // the Tracking API call as JSON
                t.column("state", .text).notNull()  // pending, rejected
                t.column("attempts", .integer).notNull()
                t.column("nextAttemptAt", .integer).notNull()
                t.column("leaseUntil", .integer)
                t.column("alone", .boolean).notNull().defaults(to: false)
                t.column("lastError", .text)
                t.column("createdAt", .integer).notNull()
                t.uniqueKey(["workspaceId", "key"])
            }
            try db.create(index: "segmentOutbox_due", on: "segmentOutbox", columns: ["state", "nextAttemptAt"])
            try db.create(index: "segmentOutbox_subject", on: "segmentOutbox", columns: ["workspaceId", "subject"])
        }
        migrator.registerMigration("v16.1: opens and clicks counted per message") { db in
            // The first open and the first click change the status and go to Segment; later
            // ones are only counted.
            try db.alter(table: "message") { t in
                t.add(column: "openCount", .integer).notNull().defaults(to: 0)
                t.add(column: "clickCount", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v16.2: tracked links and the key that signs tracking tokens") { db in
            // The links of a message with tracking, in order: a click token names an index, so
            // a redirect goes only to the message's own links.
            try db.alter(table: "message") { t in t.add(column: "links", .text) }
            // One random key per database signs open and click tokens: they stay valid across
            // restarts and cannot be forged without the database.
            try db.create(table: "trackingKey") { t in
                t.column("id", .integer).primaryKey().check { $0 == 1 }
                t.column("key", .blob).notNull()
            }
            var generator = SystemRandomNumberGenerator()
            let key = Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
            try db.execute(sql: "INSERT INTO trackingKey (id, key) VALUES (1, ?)", arguments: [key])
        }
        migrator.registerMigration("v17: email messages (HTML part, address, unsubscribe link)") { db in
            try db.alter(table: "message") { t in
                t.add(column: "html", .text)
                t.add(column: "address", .text)
                t.add(column: "unsubscribeURL", .text)
            }
        }
        migrator.registerMigration("v17.1: preferences, their changes, preference link keys") { db in
            // A recipient's current choice per topic and channel (`*`: all of them).
            try db.create(table: "preference") { t in
                t.column("workspaceId", .text).notNull()
                t.column("profileId", .text).notNull()
                t.column("topic", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("status", .text).notNull()
                t.column("source", .text).notNull()
                t.column("updatedAt", .integer).notNull()
                t.primaryKey(["workspaceId", "profileId", "topic", "channel"])
            }
            // Every change, append-only: what, from where, when.
            try db.create(table: "preferenceChange") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("workspaceId", .text).notNull()
                t.column("profileId", .text).notNull()
                t.column("topic", .text).notNull()
                t.column("channel", .text).notNull()
                t.column("status", .text).notNull()
                t.column("source", .text).notNull()
                t.column("at", .integer).notNull()
            }
            try db.create(index: "preferenceChange_profile", on: "preferenceChange", columns: ["workspaceId", "profileId", "id"])
            // The key that signs a workspace's preference links.
            try db.create(table: "preferenceKey") { t in
                t.primaryKey("workspaceId", .text)
                t.column("key", .blob).notNull()
                t.column("createdAt", .integer).notNull()
            }
        }
        migrator.registerMigration("v15: workspace signing secrets (Segment's X-Signature)") { db in
            try db.alter(table: "workspace") { t in
                t.add(column: "signingSecret", .text)
                t.add(column: "signatureRequired", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v19: notification controls (digests, waits, frequency caps)") { db in
            // One row per digest; `isOpen` is 1 while it takes items, NULL after: the partial
            // unique index allows one open digest per automation step, recipient and key.
            try db.execute(sql: """
                CREATE TABLE digest (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    workspaceId TEXT NOT NULL, automation TEXT NOT NULL, step INTEGER NOT NULL, recipient TEXT NOT NULL, digestKey TEXT NOT NULL,
                    runId INTEGER NOT NULL, openedAt INTEGER NOT NULL, closesAt INTEGER NOT NULL, maxItems INTEGER NOT NULL,
                    itemCount INTEGER NOT NULL, isOpen INTEGER CHECK (isOpen = 1)
                );
                CREATE UNIQUE INDEX digest_open ON digest (workspaceId, automation, step, recipient, digestKey) WHERE isOpen = 1;
                CREATE INDEX digest_run ON digest (runId, step);
                CREATE TABLE digestItem (
                    digestId INTEGER NOT NULL, position INTEGER NOT NULL, item TEXT NOT NULL,
                    PRIMARY KEY (digestId, position)
                ) WITHOUT ROWID;
                CREATE TABLE runWait (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    runId INTEGER NOT NULL, step INTEGER NOT NULL, workspaceId TEXT NOT NULL, recipient TEXT NOT NULL, event TEXT NOT NULL,
                    matchText TEXT, deadline INTEGER NOT NULL, state TEXT NOT NULL, eventSeq INTEGER, startedAt INTEGER NOT NULL, endedAt INTEGER,
                    UNIQUE (runId, step)
                );
                CREATE INDEX runWait_waiting ON runWait (workspaceId, event, recipient) WHERE state = 'waiting';
                CREATE TABLE sendLedger (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    workspaceId TEXT NOT NULL, recipient TEXT NOT NULL, channel TEXT NOT NULL, topic TEXT, automation TEXT NOT NULL,
                    throttleKey TEXT NOT NULL, at INTEGER NOT NULL
                );
                CREATE INDEX sendLedger_recipient ON sendLedger (workspaceId, recipient, at);
                """)
        }
        return migrator
    }

    func migrate() throws {
        try Self.migrator.migrate(writer)
    }
}
