public import SegmentSpec

/// The automations model of DESIGN §3, as read from `herald.yaml`: channels, templates,
/// automations and the mappings from event names to automations.
///
/// Build one with ``ConfigurationLoader/load(yaml:secrets:requireSecrets:)``, which validates the whole
/// document (references, conditions, templates, durations) before anything uses it.
public struct HeraldConfiguration: Sendable, Hashable {
    /// Channels by name, in file order.
    public var channels: [Channel]
    /// Templates by name, in file order.
    public var templates: [Template]
    /// Automations by name, in file order.
    public var automations: [Automation]
    /// Mappings, in file order (the order they are checked in).
    public var mappings: [Mapping] {
        didSet { mappingsByEvent = Self.index(mappings) }
    }
    /// Mappings by event name, so an event is matched without scanning every mapping.
    private var mappingsByEvent: [String: [Mapping]]
    /// Where the workspace's events go as a Segment source (`segment:`); nil sends none.
    public var segment: SegmentDestination?
    /// Subscription topics by name, in file order (`topics:`).
    public var topics: [Topic]
    /// `max_event_age`: an event that happened longer than this before it arrived (a replay
    /// of history from Segment) still updates profiles and groups, but starts and cancels
    /// nothing. Nil: any age.
    public var maximumEventAge: Duration?
    /// What is valid but probably not meant, with its line: a mapping whose `on:` no event can
    /// ever have (`Signed Up` instead of `track/Signed Up`). Shown by `check`, `apply`, the API
    /// and the editor; never a reason to refuse the file.
    public var warnings: [ConfigurationIssue] = []
    /// The `${NAME}` secrets left unresolved when loaded without requiring them: each issue's
    /// `message` is the variable's name, at the line of the field that names it. A server
    /// with such a configuration cannot sign or sign in with them (its messages are
    /// undeliverable), so `serve` and `apply` name them.
    public var unresolvedSecrets: [ConfigurationIssue] = []
    /// Frequency caps across automations (`limits:`), per recipient.
    public var limits: [FrequencyLimit]
    /// The time zone of recipients whose profile and events name none (`timezone:`, IANA); nil: UTC.
    public var timeZone: String?

    /// A configuration of these parts.
    public init(
        channels: [Channel], templates: [Template], automations: [Automation], mappings: [Mapping], segment: SegmentDestination? = nil,
        topics: [Topic] = [], maximumEventAge: Duration? = nil, limits: [FrequencyLimit] = [], timeZone: String? = nil
    ) {
        self.limits = limits
        self.timeZone = timeZone
        self.segment = segment
        self.maximumEventAge = maximumEventAge
        self.channels = channels
        self.templates = templates
        self.automations = automations
        self.mappings = mappings
        self.mappingsByEvent = Self.index(mappings)
        self.topics = topics
    }

    /// A kind of message a recipient may subscribe to or not (`topics: {order-updates: {label, default}}`).
    public struct Topic: Sendable, Hashable {
        /// The topic's name, as templates and automations give it in `topic:`.
        public var name: String
        /// What the preference page calls it.
        public var label: String
        /// Whether a recipient who never chose gets its messages (`opt_in`) or not (`opt_out`).
        public var defaultStatus: PreferenceStatus

        /// A topic.
        public init(name: String, label: String, defaultStatus: PreferenceStatus) {
            self.name = name
            self.label = label
            self.defaultStatus = defaultStatus
        }
    }

    /// The topic named `name`.
    public func topic(named name: String) -> Topic? {
        topics.first { $0.name == name }
    }

    private static func index(_ mappings: [Mapping]) -> [String: [Mapping]] {
        Dictionary(grouping: mappings, by: \.on)
    }

    /// A delivery channel.
    public struct Channel: Sendable, Hashable {
        /// The channel's name.
        public var name: String
        /// How messages leave through it.
        public var kind: Kind
        /// Deliveries in flight to it at most (`concurrency:`); nil for the default.
        public var concurrency: Int?
        /// Whether links in its messages go through Herald's click tracking, and HTML bodies
        /// get an open pixel (`tracking: true`).
        public var tracking: Bool
        /// When its messages may go out, in the recipient's time zone (`send_window:`); nil: any time.
        public var sendWindow: SendWindow?

        /// A channel of this name and kind.
        public init(name: String, kind: Kind, concurrency: Int? = nil, tracking: Bool = false, sendWindow: SendWindow? = nil) {
            self.sendWindow = sendWindow
            self.name = name
            self.kind = kind
            self.concurrency = concurrency
            self.tracking = tracking
        }

        /// The kinds of channel.
        public enum Kind: Sendable, Hashable {
            /// POST JSON to `url`, signed with `secret` when given.
            case webhook(url: String, secret: String?, timeoutSeconds: Int)
            /// Email through an SMTP server.
            case smtp(SMTPSettings)
            /// Stored in-app messages, read through the API.
            case inbox
            /// Written to the server log (development).
            case log

            /// The `type:` that declares this kind in YAML.
            public var typeName: String {
                switch self {
                case .webhook: "webhook"
                case .smtp: "smtp"
                case .inbox: "inbox"
                case .log: "log"
                }
            }
        }
    }

    /// How an `smtp` channel reaches its server and what its messages say they are from.
    public struct SMTPSettings: Sendable, Hashable {
        /// How the connection is protected.
        public enum Security: String, Sendable, Hashable, CaseIterable {
            /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
            case starttls
            /// TLS from the first byte (port 465).
            case implicit
            /// No TLS at all: for a relay on the same host or network only.
            case none

            /// The port a channel connects to unless it sets `port:`.
            public var defaultPort: Int {
                switch self {
                case .starttls: 587
                case .implicit: 465
                case .none: 25
                }
            }
        }

        /// The server's host name or address.
        public var host: String
        /// Its port.
        public var port: Int
        /// STARTTLS, implicit TLS, or none.
        public var security: Security
        /// The user name to sign in with (`${NAME}` resolved like a secret); nil: no AUTH.
        public var username: String?
        /// The password (`${NAME}` resolved like a secret).
        public var password: String?
        /// `From:` (`Herald <noreply@example.com>` or a bare address); its address is also the envelope sender.
        public var from: String
        /// `Reply-To:`, if any.
        public var replyTo: String?
        /// Longest one exchange may take (signing in, or one message), in seconds.
        public var timeoutSeconds: Int

        /// Settings of an `smtp` channel.
        public init(
            host: String, port: Int, security: Security, username: String?, password: String?, from: String, replyTo: String?, timeoutSeconds: Int
        ) {
            self.host = host
            self.port = port
            self.security = security
            self.username = username
            self.password = password
            self.from = from
            self.replyTo = replyTo
            self.timeoutSeconds = timeoutSeconds
        }
    }

    /// A message template (Mustache over `data`, `profile`, `group`, `event`).
    public struct Template: Sendable, Hashable {
        /// The template's name.
        public var name: String
        /// The channel it is sent on unless a step overrides it.
        public var channel: String?
        /// Subject line template.
        public var subject: String?
        /// Body template (the text part of an email).
        public var body: String
        /// HTML template: the HTML part of an email (`smtp` channels only).
        public var html: String?
        /// The subscription topic of its messages, which wins over the automation's.
        public var topic: String?
        /// When its messages may go out (`send_window:`), which wins over its channel's; nil: the channel's.
        public var sendWindow: SendWindow? = nil
    }

    /// A sequence of steps run for one recipient.
    public struct Automation: Sendable, Hashable {
        /// The automation's name.
        public var name: String
        /// Template of the token that cancels a run (`order-{{data.order_id}}`).
        public var cancellationToken: String?
        /// The subscription topic of the messages it sends, unless their template names one.
        public var topic: String?
        /// The steps in order (a `wait_for`'s `then:` and `timeout:` steps follow it, marked with their ``Step/branch``).
        public var steps: [Step]
        /// A cap on the sends of this automation per recipient (`throttle:`).
        public var throttle: FrequencyLimit? = nil
    }

    /// One step of an automation, optionally guarded by an `if:` condition.
    public struct Step: Sendable, Hashable {
        /// The step runs only when this holds.
        public var condition: Condition?
        /// What the step does.
        public var action: Action
        /// Set on the steps of a `wait_for`'s `then:` or `timeout:` branch: they run only on that outcome.
        public var branch: Branch? = nil

        /// Which outcome of which `wait_for` step a branch step belongs to.
        public struct Branch: Sendable, Hashable {
            /// The index of the `wait_for` step.
            public var waitStep: Int
            /// True for `then:` (the event arrived), false for `timeout:`.
            public var onArrival: Bool

            /// The `then:` (`onArrival`) or `timeout:` branch of the `wait_for` at `waitStep`.
            public init(waitStep: Int, onArrival: Bool) {
                self.waitStep = waitStep
                self.onArrival = onArrival
            }
        }

        /// What a step can do.
        public enum Action: Sendable, Hashable {
            /// Render and deliver a template.
            case send(template: String, channel: String?, recipient: String?, data: JSONObject?)
            /// Wait a fixed time.
            case delay(Duration)
            /// Wait until the time found at a path (`data.trial_ends_at`).
            case delayUntil(path: String)
            /// Cancel pending runs with this token (a template).
            case cancel(token: String)
            /// Deep-merge values into the recipient's profile.
            case updateProfile(JSONObject)
            /// Send a call about the recipient to the workspace's Segment source.
            case segment(SegmentStepCall)
            /// Collect the events that start the automation for one recipient and key into one run.
            case digest(DigestSettings)
            /// Wait for an event of the recipient, with `then:` and `timeout:` branches.
            case waitFor(WaitForEvent)
        }
    }

    /// When an event of `on` arrives, run an automation or cancel runs.
    public struct Mapping: Sendable, Hashable {
        /// The `id:` written on the mapping, if any.
        public var id: String?
        /// The Courier event name, e.g. `track/Order Completed` or `identify`.
        public var on: String
        /// Optional condition over the event.
        public var when: Condition?
        /// The condition's text as written, for the explain trace.
        public var whenText: String?
        /// Run at most once per user or group, ever.
        public var oncePer: OncePer?
        /// What the mapping does.
        public var action: Action
        /// One-based line of the mapping in the file.
        public var line: Int

        /// What `once_per` remembers the mapping by: its `id:`, else what the mapping is
        /// (its event and its automation or token), never its place in the file, so that
        /// editing, reordering or commenting the file does not run it again for anyone.
        public var identity: String {
            if let id { return id }
            switch action {
            case .run(let automation): return "\(on)->\(automation)"
            case .cancel(let token): return "\(on)->cancel \(token)"
            }
        }

        /// `once_per` scopes.
        public enum OncePer: String, Sendable, Hashable {
            case user, group
        }

        /// A mapping either starts an automation or cancels by token.
        public enum Action: Sendable, Hashable {
            case run(automation: String)
            case cancel(token: String)
        }
    }

    /// The leading `digest` step of an automation, if its first step is one without an `if:`:
    /// the event processor then adds an event to an open digest instead of starting a run.
    public func leadingDigest(of automation: Automation) -> DigestSettings? {
        guard let first = automation.steps.first, first.condition == nil, case .digest(let settings) = first.action else { return nil }
        return settings
    }

    /// The mappings for one event name, in file order (a dictionary look-up).
    public func mappings(for eventName: String) -> [Mapping] {
        mappingsByEvent[eventName] ?? []
    }
}
