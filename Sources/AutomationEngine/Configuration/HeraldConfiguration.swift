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
    /// `max_event_age`: an event that happened longer than this before it arrived (a replay
    /// of history from Segment) still updates profiles and groups, but starts and cancels
    /// nothing. Nil: any age.
    public var maximumEventAge: Duration?

    /// A configuration of these parts.
    public init(
        channels: [Channel], templates: [Template], automations: [Automation], mappings: [Mapping], maximumEventAge: Duration? = nil
    ) {
        self.channels = channels
        self.templates = templates
        self.automations = automations
        self.mappings = mappings
        self.mappingsByEvent = Self.index(mappings)
        self.maximumEventAge = maximumEventAge
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

        /// A channel of this name and kind.
        public init(name: String, kind: Kind, concurrency: Int? = nil) {
            self.name = name
            self.kind = kind
            self.concurrency = concurrency
        }

        /// The kinds of channel.
        public enum Kind: Sendable, Hashable {
            /// POST JSON to `url`, signed with `secret` when given.
            case webhook(url: String, secret: String?, timeoutSeconds: Int)
            /// Stored in-app messages, read through the API.
            case inbox
            /// Written to the server log (development).
            case log

            /// The `type:` that declares this kind in YAML.
            public var typeName: String {
                switch self {
                case .webhook: "webhook"
                case .inbox: "inbox"
                case .log: "log"
                }
            }
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
        /// Body template.
        public var body: String
    }

    /// A sequence of steps run for one recipient.
    public struct Automation: Sendable, Hashable {
        /// The automation's name.
        public var name: String
        /// Template of the token that cancels a run (`order-{{data.order_id}}`).
        public var cancellationToken: String?
        /// The steps in order.
        public var steps: [Step]
    }

    /// One step of an automation, optionally guarded by an `if:` condition.
    public struct Step: Sendable, Hashable {
        /// The step runs only when this holds.
        public var condition: Condition?
        /// What the step does.
        public var action: Action

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

    /// The mappings for one event name, in file order (a dictionary look-up).
    public func mappings(for eventName: String) -> [Mapping] {
        mappingsByEvent[eventName] ?? []
    }
}
