public import Foundation

/// Where the `${NAME}` references of a configuration's secrets are resolved from.
///
/// A configuration is written by a workspace's admin, and several workspaces share one
/// server process: if any text could name any environment variable, one workspace's admin
/// could read the server's database password, or another workspace's webhook secret, back
/// through a dry run. So references are resolved only in fields that hold a secret (a
/// channel's `secret`), and only for names the operator allowed: names that start with
/// ``namePrefix``, and names listed in `HERALD_SECRET_NAMES` (comma-separated). A name
/// outside those is refused whether or not it is set, so the answer does not tell which
/// variables exist.
public struct SecretEnvironment: Sendable {
    /// Variables named with this prefix are always available to configurations.
    public static let namePrefix = "HERALD_SECRET_"
    /// The environment variable that allows further names, comma-separated.
    public static let allowListVariable = "HERALD_SECRET_NAMES"

    private let variables: [String: String]
    /// Names allowed besides those with ``namePrefix``.
    public let allowedNames: Set<String>

    /// Secrets read from `variables`, allowing the prefixed names and `allowedNames`.
    public init(variables: [String: String], allowedNames: Set<String> = []) {
        self.variables = variables
        self.allowedNames = allowedNames
    }

    /// The process's environment, allowing the names listed in `HERALD_SECRET_NAMES`.
    public static func process(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SecretEnvironment {
        let listed = (environment[allowListVariable] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return SecretEnvironment(variables: environment, allowedNames: Set(listed.filter { !$0.isEmpty }))
    }

    /// No secrets at all: dry runs, matching and display need none.
    public static let none = SecretEnvironment(variables: [:])

    /// Whether configurations may read `name`.
    public func allows(_ name: String) -> Bool {
        name.hasPrefix(Self.namePrefix) && name.count > Self.namePrefix.count || allowedNames.contains(name)
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
