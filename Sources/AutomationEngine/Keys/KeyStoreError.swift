/// Why a key operation could not be done, in words for the command line.
public enum KeyStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No key has this id (prefix).
    case unknownKey(String)
    /// A workspace name that cannot be used.
    case invalidWorkspaceName(String)
    /// No workspace has this name.
    case unknownWorkspace(String)
    /// The workspace has as many active keys as it may (``HeraldStore/maximumActiveKeysPerWorkspace``).
    case tooManyKeys(workspace: String, limit: Int)

    public var description: String {
        switch self {
        case .unknownKey(let id): return "no API key with id \(id); `herald keys list` shows the ids"
        case .unknownWorkspace(let name): return "no workspace named \(name); `herald keys list` shows the workspaces that have keys"
        case .tooManyKeys(let workspace, let limit):
            return "workspace \(workspace) has \(limit) active keys, the most a workspace may have; revoke one it no longer needs first"
        case .invalidWorkspaceName(let name):
            return "workspace name \"\(name)\" is not valid: use 1-64 letters, digits, '-' or '_'"
        }
    }
}
