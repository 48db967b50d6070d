import ArgumentParser
import AutomationEngine
import DestinationServer
import Foundation
import Hummingbird
import Logging
import NIOCore

/// `herald serve`: runs the destination server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Herald server.",
        discussion: """
            Listens for Segment traffic on /inbound/segment and the Tracking API (/v1/...). \
            On an empty database it creates workspace "default" with one ingest and one admin \
            key and prints them once. SIGTERM or SIGINT stops it gracefully.

            Every option can also be set in the environment: HERALD_HOST, HERALD_PORT, \
            HERALD_DB, HERALD_CONFIG, HERALD_LOG_LEVEL, HERALD_LOG_FORMAT, HERALD_RETENTION, HERALD_ALLOW_DESTINATIONS, HERALD_PUBLIC_URL, HERALD_SMTP_CA_FILE.

            Webhooks and mail servers reach public addresses only: a URL or smtp host that is, or resolves to, a \
            loopback, private, link-local, CGNAT, unique-local, multicast or reserved address \
            is undeliverable, without a connection, unless --allow-destination allows it.

            A configuration's `secret: "${NAME}"` (and an smtp channel's username and password) is resolved only for names the \
            workspace was given: HERALD_SECRET_<WORKSPACE>_... (e.g. HERALD_SECRET_DEFAULT_MAILER), \
            or workspace:NAME entries of HERALD_SECRET_NAMES (comma-separated).

            Example:
              herald serve --port 8080 --db ./herald.sqlite
              herald serve --allow-destination mailer.lan --allow-destination 10.20.0.0/16
            """
    )

    @Option(help: "Interface to listen on (default 127.0.0.1, or HERALD_HOST).")
    var host: String?

    @Option(help: "Port to listen on (default 8080, or HERALD_PORT).")
    var port: Int?

    @Option(help: "SQLite database file (default ./herald.sqlite, or HERALD_DB).")
    var db: String?

    @Option(help: "Configuration file (herald.yaml) to apply to workspace `default` at start (or HERALD_CONFIG).")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default info, or HERALD_LOG_LEVEL).")
    var logLevel: String?

    @Option(help: ArgumentHelp(
        "Log format: text (default), or json: one JSON object per line for log shippers (or HERALD_LOG_FORMAT).",
        discussion: "Each record has time, level, label and message, then its metadata as fields; a request's lines carry its hb.request.id. The startup lines are records too.",
        valueName: "text|json"))
    var logFormat: String?

    @Option(help: ArgumentHelp(
        "Remove what is finished and older than this, e.g. 90d (or HERALD_RETENTION; default: keep everything).",
        discussion: "Processed events with their traces, messages in a final status with their history, ended runs with their steps, and calls Segment refused; in small batches every 10 minutes, beside ingest. Unprocessed events, queued messages, pending runs and once_per ledgers always stay, and deduplication keeps its own keys for the dedup window. `herald prune --dry-run` shows what an age would remove.",
        valueName: "duration"))
    var retention: String?

    @Option(help: "How long a messageId is remembered for deduplication, in hours (default 168 = 7 days).")
    var dedupWindowHours: Int = 168

    @Option(help: ArgumentHelp(
        "Unprocessed events tolerated before ingest slows down for the automation engine (0 = never).",
        discussion: "Beyond it, ingest runs at the engine's pace (requests are answered more slowly) so notifications do not fall ever further behind under sustained load."))
    var engineBacklog: Int = 20_000

    @Option(
        name: .customLong("allow-destination"),
        help: ArgumentHelp(
            "A host name, IP address or CIDR range (IPv4 or IPv6) webhooks and mail servers may reach although it is internal; repeatable.",
            discussion: """
                Default: public addresses only, or the comma-separated list in HERALD_ALLOW_DESTINATIONS. \
                A host name is allowed whatever it resolves to; an address or range is allowed \
                however a URL reaches it. Every port is allowed. Example: --allow-destination mailer.lan.
                """,
            valueName: "host|address|cidr"))
    var allowDestinations: [String] = []

    @Option(
        help: ArgumentHelp(
            "How long a message being delivered is held before another attempt may take it over (default 70s).",
            discussion: "After a crash, messages that were being delivered are attempted again (same Idempotency-Key) once their hold ends. Keep it above the longest webhook timeout (60s).",
            valueName: "duration"))
    var deliveryLease: String?

    @Option(
        help: ArgumentHelp(
            "The URL recipients reach this server at, e.g. https://herald.example.com (or HERALD_PUBLIC_URL).",
            discussion: "Preference links, email's one-click unsubscribe, and tracked links (<URL>/t/c/...) and open pixels (<URL>/t/o/....gif) of channels with `tracking: true` point there. Without it, preference links use http://<host>:<port> as the server listens, and channels are not tracked.",
            valueName: "url"))
    var publicURL: String?

    @Option(
        help: ArgumentHelp(
            "How long calls being sent to a workspace's Segment source are held before another attempt may take them over (default 120s).",
            discussion: "After a crash, calls that were being sent are sent again (under the same messageId, which Segment deduplicates) once their hold ends.",
            valueName: "duration"))
    var segmentLease: String?

    @Option(
        name: .customLong("smtp-ca-file"),
        help: ArgumentHelp(
            "A PEM file of certificate authorities smtp channels trust besides the system's (or HERALD_SMTP_CA_FILE).",
            discussion: "For a mail relay whose certificate a private CA signed. Certificates and host names are always verified.",
            valueName: "path"))
    var smtpCAFile: String?
    @Option(help: ArgumentHelp(
        "PEM certificate chain to serve HTTPS with (with --tls-key; or HERALD_TLS_CERT).",
        discussion: "Send SIGHUP to read the certificate and key again (after a renewal): new connections use them, open ones keep theirs. A pair that cannot be read keeps the previous one in use.",
        valueName: "path"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert (or HERALD_TLS_KEY).", valueName: "path"))
    var tlsKey: String?

    /// Checked while parsing, so a bad option is reported with `serve`'s usage (exit 64), before
    /// anything is created.
    func validate() throws {
        _ = try serverConfiguration(environment: ProcessInfo.processInfo.environment)
    }

    /// The server's settings from the options and the environment; a `ValidationError` naming
    /// the option when one is wrong.
    func serverConfiguration(environment: [String: String]) throws -> ServerConfiguration {
        switch (logFormat ?? environment["HERALD_LOG_FORMAT"])?.lowercased() {
        case nil, "text", "json": break
        case let other?: throw ValidationError("--log-format \(other) is not text or json")
        }
        var configuration = ServerConfiguration()
        configuration.host = host ?? environment["HERALD_HOST"] ?? configuration.host
        if let portText = port.map(String.init) ?? environment["HERALD_PORT"] {
            guard let value = Int(portText), (0...65535).contains(value) else {
                throw ValidationError("port \(portText) is not a port number (0-65535)")
            }
            configuration.port = value
        }
        if let levelText = logLevel ?? environment["HERALD_LOG_LEVEL"] {
            guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
                throw ValidationError("log level \(levelText) is not one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = level
        }
        guard (1...87_600).contains(dedupWindowHours) else { throw ValidationError("--dedup-window-hours must be from 1 to 87600 (10 years)") }
        configuration.dedupWindow = .seconds(dedupWindowHours * 3600)
        guard engineBacklog >= 0 else { throw ValidationError("--engine-backlog must be 0 (never slow ingest down) or a number of events") }
        configuration.engineBacklogLimit = engineBacklog
        configuration.outboundDestinations = try Self.outboundDestinations(flags: allowDestinations, environment: environment)
        if let retentionText = retention ?? environment["HERALD_RETENTION"] {
            guard let age = DurationText.parse(retentionText), age >= .seconds(3600) else {
                throw ValidationError("--retention must be a duration of an hour or more, such as 30d or 12w")
            }
            configuration.retention = age
        }
        if let deliveryLease {
            guard let lease = DurationText.parse(deliveryLease), lease >= .seconds(1) else {
                throw ValidationError("--delivery-lease must be a duration such as 70s or 5m")
            }
            configuration.deliveryLease = lease
        }
        if let publicURL = publicURL ?? environment["HERALD_PUBLIC_URL"] {
            guard let url = URL(string: publicURL), url.scheme == "http" || url.scheme == "https", url.host?.isEmpty == false, url.query == nil else {
                throw ValidationError("--public-url must be an http(s) URL such as https://herald.example.com")
            }
            configuration.publicURL = publicURL
        }
        if let segmentLease {
            guard let lease = DurationText.parse(segmentLease), lease >= .seconds(1) else {
                throw ValidationError("--segment-lease must be a duration such as 120s or 5m")
            }
            configuration.segmentOutbox.lease = lease
        }
        if let caFile = smtpCAFile ?? environment["HERALD_SMTP_CA_FILE"] {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw ValidationError("--smtp-ca-file: cannot read \(caFile)") }
            configuration.smtpTrustRootsFile = caFile
        }
        switch (tlsCert ?? environment["HERALD_TLS_CERT"], tlsKey ?? environment["HERALD_TLS_KEY"]) {
        case (let certificate?, let key?):
            do {
                configuration.tls = try TLSCertificateFiles(certificatePath: certificate, privateKeyPath: key)
            } catch {
                throw ValidationError("\(error)")
            }
        case (nil, nil):
            break
        default:
            throw ValidationError("--tls-cert and --tls-key go together: give both, or neither for plain HTTP")
        }
        return configuration
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        if (logFormat ?? environment["HERALD_LOG_FORMAT"])?.lowercased() == "json" {
            // Before the first logger is made: bootstrap applies to loggers made after it.
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
            Console.writeJSON()
        }
        MallocArenas.limitForServer(environment: environment)
        var configuration = try serverConfiguration(environment: environment)
        let openFiles = OpenFilesLimit.raise()
        configuration.maximumConnections = OpenFilesLimit.connections(forLimit: openFiles)

        let path = DatabasePath.resolve(db ?? environment["HERALD_DB"])
        // Nothing is created before everything that can still fail was checked: the
        // configuration and the address. On a first start the keys are printed once, so a
        // start that then failed would lose them.
        let startConfiguration = try Self.readConfiguration(config ?? environment["HERALD_CONFIG"], environment: environment)
        try ListeningAddressProbe.check(host: configuration.host, port: configuration.port)
        let store = try DatabasePath.open(path)
        Console.line("Herald \(HeraldVersion.current)")
        Console.line("Database: \(path)")
        let created = try await store.bootstrapIfEmpty()
        if !created.isEmpty {
            Console.line("Created workspace \"default\" with these API keys. They are shown only this once; store them now:")
            for key in created {
                Console.line("  \(key.record.scope.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(key.secret.plaintext)")
            }
        }
        if let (configPath, text, _) = startConfiguration {
            do {
                let applied = try await store.applyConfigurationIfChanged(yaml: text, workspace: "default", secrets: .process(environment))
                Console.configurationWarnings(startConfiguration?.warnings ?? [], file: configPath)
                Console.line(applied.isUnchanged
                    ? "Configuration: \(configPath) unchanged (version \(applied.version.version) of workspace default is in force)"
                    : "Configuration: \(configPath) applied to workspace default as version \(applied.version.version)")
            } catch let error as ConfigurationError {
                for issue in error.issues { Console.line("\(configPath):\(issue.line):\(issue.column): \(issue.message)") }
                throw CommandFailure("configuration \(configPath) is invalid; nothing was applied and the server did not start")
            }
        }
        try await Self.reportMissingSecrets(store, environment: environment)
        Console.line(configuration.retention.map { "Retention: finished records older than \(DurationText.describe(milliseconds: $0.wholeMilliseconds)) are removed every 10 minutes" }
            ?? "Retention: everything is kept (--retention sets an age)")
        let connectionsLine = "Connections: up to \(configuration.maximumConnections) at once (open files limit \(openFiles)); "
            + "a connection idle for \(configuration.idleTimeout.components.seconds) s is closed"
        Console.line(configuration.outboundDestinations.allowsOnlyPublicAddresses
            ? "Webhooks: public addresses only (--allow-destination allows an internal one)"
            : "Webhooks: public addresses, and \(configuration.outboundDestinations.allowedDescription)")
        let scheme = configuration.tls == nil ? "http" : "https"
        if let tls = configuration.tls {
            Console.line("TLS: \(tls.certificatePath) (serial \(tls.serialNumber)); SIGHUP reloads it")
        }
        let app = try buildApplication(configuration, store: store) { host, port in
            Console.line("Listening on \(scheme)://\(host):\(port)  (Segment destination endpoint: \(scheme)://\(host):\(port)/inbound/segment)")
            Console.line("Web page: \(scheme)://\(host):\(port)/ (sign in with an admin key); API: \(scheme)://\(host):\(port)/api/openapi.yaml")
            Console.line(connectionsLine)

        }

        do {
            try await app.runService()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CommandFailure("cannot listen on \(configuration.host):\(configuration.port): the address is already in use. Stop the other server or pass --port.")
        }
        Console.line("Herald stopped.")
    }

    /// The `--config` file's path and text, validated against this process's environment (the
    /// server's: its `${NAME}` secrets must be set here), or nil without `--config`.
    static func readConfiguration(_ configPath: String?, environment: [String: String]) throws -> (String, String, warnings: [ConfigurationIssue])? {
        guard let configPath else { return nil }
        guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else {
            throw CommandFailure("cannot read configuration \(configPath); check the path or drop --config. Nothing was created and the server did not start.")
        }
        let configuration: HeraldConfiguration
        do {
            configuration = try ConfigurationLoader.load(yaml: text, secrets: SecretEnvironment.process(environment).scoped(to: "default"))
        } catch {
            for issue in error.issues { Console.line("\(configPath):\(issue.line):\(issue.column): \(issue.message)") }
            throw CommandFailure("configuration \(configPath) is invalid; nothing was created or applied and the server did not start")
        }
        return (configPath, text, configuration.warnings)
    }

    /// Names, for every workspace, the `${NAME}` secrets its configuration in force needs and
    /// this server's environment lacks: a configuration applied with `herald apply` from
    /// another shell is checked here, where it will be used.
    static func reportMissingSecrets(_ store: HeraldStore, environment: [String: String]) async throws {
        for workspace in try await store.workspaceIds() {
            guard let version = try await store.currentConfiguration(workspace: workspace),
                let configuration = try? ConfigurationLoader.load(
                    yaml: version.yaml, secrets: SecretEnvironment.process(environment).scoped(to: workspace), requireSecrets: false),
                !configuration.unresolvedSecrets.isEmpty
            else { continue }
            let names = configuration.unresolvedSecrets.map { "${\($0.message)} (line \($0.line))" }.joined(separator: ", ")
            Console.line(
                "Warning: version \(version.version) of workspace \(workspace) names secrets this server's environment does not give it: \(names). "
                    + "Messages that need them will be undeliverable; set them (names starting \(SecretEnvironment.namePrefix(for: workspace)), "
                    + "or listed in \(SecretEnvironment.allowListVariable)) and restart.")
        }
    }

    /// The operator's allow-list: the flags, else HERALD_ALLOW_DESTINATIONS split at commas.
    static func outboundDestinations(flags: [String], environment: [String: String]) throws -> OutboundDestinationPolicy {
        guard flags.isEmpty else { return try policy(allowing: flags, source: "--allow-destination") }
        let listed = (environment["HERALD_ALLOW_DESTINATIONS"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return try policy(allowing: listed.filter { !$0.isEmpty }, source: "HERALD_ALLOW_DESTINATIONS")
    }

    private static func policy(allowing entries: [String], source: String) throws -> OutboundDestinationPolicy {
        do {
            return try OutboundDestinationPolicy(allowing: entries)
        } catch {
            throw ValidationError("\(source): \(error)")
        }
    }
}
