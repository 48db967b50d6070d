/// Herald's release version, printed by `herald --version`.
enum HeraldVersion {
    static let current = "0.1.0"
}
