import AutomationEngine
import Foundation
import GRDB
import HeraldTestSupport
import Testing

@Suite("The herald command line", .serialized)
struct CommandLineTests {
    static func database() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("herald-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("herald.sqlite").path
    }

    /// Removes the temporary folder of a database path (or the folder itself).
    static func remove(_ path: String) {
        let url = URL(fileURLWithPath: path)
        try? FileManager.default.removeItem(at: url.hasDirectoryPath || !path.hasSuffix(".sqlite") ? url : url.deletingLastPathComponent())
    }

    @Test("--help lists the commands; --version prints the version")
    func help() throws {
        let help = try HeraldProcess.runToCompletion(["--help"])
        #expect(help.status == 0)
        for command in ["serve", "keys", "workspaces", "check"] { #expect(help.output.contains(command)) }
        let version = try HeraldProcess.runToCompletion(["--version"])
        #expect(version.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test("check validates a configuration file and reports problems with file:line:column")
    func check() throws {
        let directory = URL(fileURLWithPath: try Self.database()).deletingLastPathComponent()
        defer { Self.remove(directory.path) }
        let bad = directory.appendingPathComponent("bad.yaml")
        try "mappings:\n  - on: identify\n    run: ghost\n".write(to: bad, atomically: true, encoding: .utf8)
        let failed = try HeraldProcess.runToCompletion(["check", bad.path])
        #expect(failed.status == 1)
        #expect(failed.output.contains("\(bad.path):3:10: mapping for `identify` runs automation `ghost`, which is not defined under `automations`"))
        let good = directory.appendingPathComponent("good.yaml")
        try "channels:\n  inbox: { type: inbox }\n".write(to: good, atomically: true, encoding: .utf8)
        let passed = try HeraldProcess.runToCompletion(["check", good.path])
        #expect(passed.status == 0)
        #expect(passed.output.contains("is valid: 1 channels"))
    }

    @Test("keys create prints the key last; list shows only prefixes; revoke takes effect")
    func keys() async throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let created = try HeraldProcess.runToCompletion(["keys", "create", "--workspace", "prod", "--scope", "admin", "--db", db])
        #expect(created.status == 0)
        let key = try #require(created.output.split(separator: "\n").last.map(String.init))
        #expect(key.hasPrefix("hk_") && key.count == 43)
        let listed = try HeraldProcess.runToCompletion(["keys", "list", "--db", db])
        #expect(listed.output.contains(String(key.prefix(11))))
        #expect(!listed.output.contains(key))
        #expect(listed.output.contains("admin"))
        let revoked = try HeraldProcess.runToCompletion(["keys", "revoke", String(key.prefix(11)), "--db", db])
        #expect(revoked.status == 0)
        #expect(try await HeraldStore.open(path: db).identity(for: APIKeySecret(plaintext: key)) == nil)
        let unknown = try HeraldProcess.runToCompletion(["keys", "revoke", "hk_missing0", "--db", db])
        #expect(unknown.status != 0)
    }

    @Test("serve on an empty database prints where it listens, the database, and the two new keys once")
    func serveStartup() throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let first = try HeraldProcess(database: db)
        let output = first.output
        #expect(output.contains("Database: \(db)"))
        #expect(output.contains("Listening on http://127.0.0.1:\(first.port)"))
        #expect(output.contains("  ingest  hk_"))
        #expect(output.contains("  admin   hk_"))
        // A second server on the same port says so and exits instead of hanging.
        let clash = try HeraldProcess.runToCompletion(["serve", "--db", db, "--port", String(first.port)])
        #expect(clash.status != 0)
        #expect(first.terminate() == 0)
        let second = try HeraldProcess(database: db)
        #expect(!second.output.contains("hk_"))  // keys are shown only on the first start
        second.signal(SIGINT)  // Ctrl-C stops it as cleanly as SIGTERM
        #expect(second.waitForExit() == 0)
        #expect(second.output.contains("Herald stopped."))
    }

    @Test("serve --allow-destination, or HERALD_ALLOW_DESTINATIONS: the start-up lines say what webhooks may reach; a bad entry stops it")
    func allowDestinationFlag() throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let plain = try HeraldProcess(database: db)
        #expect(plain.output.contains("Webhooks: public addresses only (--allow-destination allows an internal one)\n"))
        #expect(plain.terminate() == 0)
        let flags = try HeraldProcess(
            database: db, extraArguments: ["--allow-destination", "Mailer.lan", "--allow-destination", "10.0.0.0/8"],
            environment: ["HERALD_ALLOW_DESTINATIONS": "ignored.lan"])
        #expect(flags.output.contains("Webhooks: public addresses, and mailer.lan, 10.0.0.0/8\n"))
        #expect(flags.terminate() == 0)
        let environment = try HeraldProcess(database: db, environment: ["HERALD_ALLOW_DESTINATIONS": " 127.0.0.1, fd00::/8 ,"])
        #expect(environment.output.contains("Webhooks: public addresses, and 127.0.0.1, fd00::/8\n"))
        #expect(environment.terminate() == 0)
        for arguments in [["--allow-destination", "10.0.0.0/33"], ["--allow-destination", "http://mailer.lan"]] {
            let bad = try HeraldProcess.runToCompletion(["serve", "--db", db, "--port", "0"] + arguments)
            #expect(bad.status == 64)  // a usage error, before anything listens
            #expect(!bad.output.contains("Listening on"))
        }
    }

    @Test("serve --dedup-window-hours sets how long a messageId is remembered", arguments: [(1, false), (168, true)])
    func dedupWindowFlag(hours: Int, stillDuplicate: Bool) async throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let key = try #require(HeraldProcess.runToCompletion(["keys", "create", "--scope", "ingest", "--db", db]).output.split(separator: "\n").last.map(String.init))
        let server = try HeraldProcess(database: db, extraArguments: ["--dedup-window-hours", String(hours)])
        #expect(try await DurabilityTests.post(port: server.port, key: key, messageId: "window-1") == 200)
        // Two hours pass for the key (another connection ages it in the file, waiting its
        // turn if the server is writing).
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        try await DatabaseQueue(path: db, configuration: configuration).write { db in
            try db.execute(sql: "UPDATE dedup SET receivedAt = receivedAt - 2 * 3600 * 1000 WHERE messageId = 'window-1'")
        }
        #expect(try await DurabilityTests.post(port: server.port, key: key, messageId: "window-1") == 200)
        #expect(server.terminate() == 0)
        // Past a 1-hour window the retry is a new event; within the default 7 days, a duplicate.
        let counts = try await HeraldStore.open(path: db).messageIdCounts(workspace: "default")
        #expect(counts["window-1"] == (stillDuplicate ? 1 : 2))
    }

    @Test("serve with an invalid or missing --config reports every problem and creates no database and no keys")
    func firstStartWithBadConfiguration() async throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let config = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("bad.yaml")
        try "mappings:\n  - on: identify\n    run: ghost\n".write(to: config, atomically: true, encoding: .utf8)
        let failed = try await ManagementCommandLineTests.herald(["serve", "--db", db, "--port", "0", "--config", config.path])
        #expect(failed.status != 0)
        #expect(failed.output.contains("\(config.path):3:10:"))
        #expect(failed.errors.contains("nothing was created or applied and the server did not start"))
        // No keys were made, so none were shown to a command that failed: the next start shows them.
        #expect(!failed.output.contains("hk_"))
        #expect(!FileManager.default.fileExists(atPath: db))

        let missing = try await ManagementCommandLineTests.herald(["serve", "--db", db, "--port", "0", "--config", config.path + ".missing"])
        #expect(missing.status != 0)
        #expect(missing.errors.contains("cannot read configuration \(config.path).missing"))
        #expect(!missing.output.contains("hk_"))
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test("serve on a port in use says so before creating the database or showing keys; the next start shows them")
    func portInUseCreatesNothing() async throws {
        let busyDatabase = try Self.database()
        defer { Self.remove(busyDatabase) }
        let busy = try HeraldProcess(database: busyDatabase)
        let db = try Self.database()
        defer { Self.remove(db) }
        let clash = try await ManagementCommandLineTests.herald(["serve", "--db", db, "--port", String(busy.port)])
        #expect(clash.status != 0)
        let expected = "cannot listen on 127.0.0.1:\(busy.port): the address is already in use"
        #expect(clash.errors.contains(expected), "\(clash.errors)")
        #expect(!clash.output.contains("hk_"))
        #expect(!FileManager.default.fileExists(atPath: db))
        #expect(busy.terminate() == 0)
        let first = try HeraldProcess(database: db)
        #expect(first.output.contains("  admin   hk_"))
        #expect(first.terminate() == 0)
    }

    @Test("serve --port 99999 is a usage error naming the port and showing serve's usage, not the top-level one")
    func portOutOfRange() async throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let bad = try await ManagementCommandLineTests.herald(["serve", "--db", db, "--port", "99999"])
        #expect(bad.status == 64)
        #expect(bad.errors.contains("port 99999 is not a port number (0-65535)"))
        #expect(bad.errors.contains("Usage: herald serve"))
        #expect(!bad.errors.contains("SUBCOMMANDS"))
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test("keys list, keys revoke, workspaces and export without a database say there is none, naming the path, and create none")
    func readOnlyCommandsCreateNoDatabase() async throws {
        let directory = URL(fileURLWithPath: try Self.database()).deletingLastPathComponent()
        defer { Self.remove(directory.path) }
        let db = directory.appendingPathComponent("herald.sqlite").path
        for arguments in [["keys", "list"], ["keys", "revoke", "hk_AbCd1234"], ["workspaces", "list"], ["export"]] {
            let result = try await ManagementCommandLineTests.herald(arguments + ["--db", db])
            let joined = arguments.joined(separator: " ")
            #expect(result.status == 1, "\(joined)")
            #expect(result.errors.contains("there is no database at \(db)"), "\(joined): \(result.errors)")
            #expect(!result.output.contains("No keys"))
            #expect(!FileManager.default.fileExists(atPath: db), "\(joined)")
        }
        // Without --db, the default ./herald.sqlite of the working directory is not created either.
        var environment = ProcessInfo.processInfo.environment
        environment["HERALD_DB"] = nil
        let child = try ChildProcess(
            "/bin/sh", ["-c", "cd \"$0\" && exec \"$1\" keys list", directory.path, HeraldProcess.executable.path],
            environment: environment, standardError: .pipe)
        let errors = String(decoding: child.standardError?.readDataToEndOfFile() ?? Data(), as: UTF8.self)
        #expect(child.terminationStatus == 1)
        #expect(errors.contains("there is no database at "), "\(errors)")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test("check (also as check -f) reports each problem at its own line and a name that can never match as a warning; test -f works too")
    func checkReportsEverything() async throws {
        let directory = URL(fileURLWithPath: try Self.database()).deletingLastPathComponent()
        defer { Self.remove(directory.path) }
        let file = directory.appendingPathComponent("herald.yaml").path
        try ConfigurationProblemExample.text.write(toFile: file, atomically: true, encoding: .utf8)
        for arguments in [["check", file], ["check", "-f", file]] {
            let result = try await ManagementCommandLineTests.herald(arguments)
            #expect(result.status == 1)
            let lines = result.output.split(separator: "\n").map(String.init)
            #expect(lines == [
                "\(file):11:10: mapping for `identify` runs automation `welcom`, which is not defined under `automations`",
                "\(file):13:15: `once_per` must be `user` or `group` (singular, not `users`)",
            ], "\(result.output)")
        }
        // Fixed, the file is valid and the name that can never match is a warning at its line.
        try ConfigurationProblemExample.text.replacingOccurrences(of: "welcom\n", with: "welcome-series\n").replacingOccurrences(of: "users", with: "user")
            .write(toFile: file, atomically: true, encoding: .utf8)
        let valid = try await ManagementCommandLineTests.herald(["check", "-f", file])
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.output.contains("\(file):15:9: warning: `on: Signed Up` can never match: Herald names a track event `track/<event>`; write `on: track/Signed Up`"))
        #expect(valid.output.contains("(1 warning above)."))

        let event = directory.appendingPathComponent("event.json").path
        try #"{"type": "identify", "userId": "ada"}"#.write(toFile: event, atomically: true, encoding: .utf8)
        let tested = try await ManagementCommandLineTests.herald(["test", "-f", file, "--event", event])
        #expect(tested.status == 0, "\(tested.errors)")
        #expect(tested.output.contains("welcome-series for ada"))
        let both = try await ManagementCommandLineTests.herald(["check", file, "-f", event])
        #expect(both.status == 64)
        #expect(both.errors.contains("two configuration files given"))
    }

    @Test("restarting serve with the same --config, or applying the same file again, stores no new version and says it is unchanged")
    func unchangedConfiguration() async throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let config = URL(fileURLWithPath: db).deletingLastPathComponent().appendingPathComponent("herald.yaml")
        try "channels:\n  inbox: { type: inbox }\n".write(to: config, atomically: true, encoding: .utf8)
        let first = try HeraldProcess(database: db, extraArguments: ["--config", config.path])
        #expect(first.output.contains("Configuration: \(config.path) applied to workspace default as version 1\n"))
        #expect(first.terminate() == 0)
        let second = try HeraldProcess(database: db, extraArguments: ["--config", config.path])
        #expect(second.output.contains("Configuration: \(config.path) unchanged (version 1 of workspace default is in force)\n"))
        #expect(second.terminate() == 0)
        let again = try HeraldProcess.runToCompletion(["apply", "-f", config.path, "--db", db])
        #expect(again.status == 0)
        #expect(again.output == "Unchanged: \(config.path) is version 1 of workspace default, already in force; nothing was stored.\n")
        #expect(try await HeraldStore.open(path: db).configurationVersions(workspace: "default").map(\.version) == [1])

        try "channels:\n  log: { type: log }\n".write(to: config, atomically: true, encoding: .utf8)
        let changed = try HeraldProcess.runToCompletion(["apply", "-f", config.path, "--db", db])
        #expect(changed.output == "Applied \(config.path) to workspace default as version 2.\n")
        #expect(try await HeraldStore.open(path: db).configurationVersions(workspace: "default").map(\.version) == [2, 1])
    }

    @Test("keys create refuses a workspace's 101st active key, naming the limit, and prints no key")
    func keyLimit() async throws {
        let db = try Self.database()
        defer { Self.remove(db) }
        let store = try HeraldStore.open(path: db)
        for _ in 0..<HeraldStore.maximumActiveKeysPerWorkspace { _ = try await store.createKey(workspace: "prod", scope: .ingest) }
        let refused = try await ManagementCommandLineTests.herald(["keys", "create", "--workspace", "prod", "--scope", "admin", "--db", db])
        #expect(refused.status != 0)
        #expect(refused.errors.contains("workspace prod has 100 active keys, the most a workspace may have; revoke one it no longer needs first"))
        #expect(!refused.output.contains("hk_"))
        let revoked = try #require(try await store.listKeys(workspace: "prod").first)
        #expect(try HeraldProcess.runToCompletion(["keys", "revoke", revoked.id, "--db", db]).status == 0)
        let created = try HeraldProcess.runToCompletion(["keys", "create", "--workspace", "prod", "--scope", "admin", "--db", db])
        #expect(created.status == 0)
        #expect(created.output.split(separator: "\n").last?.hasPrefix("hk_") == true)
    }
}

/// The configuration of issue 18's report: a mapping with an unknown automation, then one
/// with a bad `once_per`, then a name that can never match.
enum ConfigurationProblemExample {
    static let text = """
        channels:
          log: { type: log }
        templates:
          welcome: { channel: log, body: "Hi" }
        automations:
          welcome-series:
            steps:
              - send: welcome
        mappings:
          - on: identify
            run: welcom
          - on: identify
            once_per: users
            run: welcome-series
          - on: Signed Up
            run: welcome-series

        """
}
