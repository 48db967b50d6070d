public import Foundation

/// Where the `${NAME}` references of a configuration's secrets are resolved from.
///
/// A configuration is written by a workspace's admin, and several workspaces share one
/// server process: if any text could name any environment variable, one workspace's admin
/// could read the server's database password back through a dry run, or have Herald sign
/// their own payloads with another workspace's webhook secret (or sign in to its mail server).
/// So references are resolved only in fields that hold a credential (a webhook's `secret`,
/// `segment.write_key`, an smtp channel's `username` and `password`), only for a workspace
/// (``scoped(to:)``), and only for names the operator gave that workspace: names that start
/// with ``namePrefix(for:)`` (`HERALD_SECRET_DEFAULT_` for workspace `default`), and entries
/// `workspace:NAME` of `HERALD_SECRET_NAMES` (comma-separated). A name outside those is refused
/// whether or not it is set, so the answer does not tell which variables exist.
public struct SecretEnvironment: Sendable {
    /// The environment variable that gives workspaces further names: `prod:MAILER_KEY,staging:MAILER_KEY`.
    public static let allowListVariable = "HERALD_SECRET_NAMES"

    private let variables: [String: String]
    /// `workspace:NAME` entries allowed besides the prefixed names.
    public let allowedNames: Set<String>
    /// The workspace whose secrets are resolved; nil resolves none.
    public let workspace: String?

    /// Secrets read from `variables`, allowing each workspace its prefixed names and the
    /// `workspace:NAME` entries of `allowedNames`.
    public init(variables: [String: String], allowedNames: Set<String> = [], workspace: String? = nil) {
        self.variables = variables
        self.allowedNames = allowedNames
        self.workspace = workspace
    }

    /// The process's environment, allowing the entries listed in `HERALD_SECRET_NAMES`.
    public static func process(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SecretEnvironment {
        let listed = (environment[allowListVariable] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return SecretEnvironment(variables: environment, allowedNames: Set(listed.filter { !$0.isEmpty }))
    }

    /// No secrets at all: dry runs, matching and display need none.
    public static let none = SecretEnvironment(variables: [:])

    /// The same environment, resolving the secrets of `workspace`.
    public func scoped(to workspace: String) -> SecretEnvironment {
        SecretEnvironment(variables: variables, allowedNames: allowedNames, workspace: workspace)
    }

    /// `HERALD_SECRET_<WORKSPACE>_`: the workspace's id in capitals, anything but letters and
    /// digits as `_` (`HERALD_SECRET_DEFAULT_` for `default`, `HERALD_SECRET_EU_PROD_` for `eu-prod`).
    public static func namePrefix(for workspace: String) -> String {
        "HERALD_SECRET_" + String(workspace.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" }) + "_"
    }

    /// Whether this workspace's configuration may read `name`.
    public func allows(_ name: String) -> Bool {
        guard let workspace else { return false }
        let prefix = Self.namePrefix(for: workspace)
        return name.hasPrefix(prefix) && name.count > prefix.count || allowedNames.contains("\(workspace):\(name)")
    }

    /// What a reference to `name` resolves to.
    enum Lookup: Equatable {
        case value(String)
        case unset
        case notAllowed
    }

    func lookup(_ name: String) -> Lookup {
        guard allows(name) else { return .notAllowed }
        return variables[name].map(Lookup.value) ?? .unset
    }
}
