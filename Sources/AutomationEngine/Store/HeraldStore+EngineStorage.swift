import GRDB

/// SQLite is Herald's shipped engine store: the operations are the `HeraldStore` methods in
/// this folder (`EventEffects`, `RunSteps`, `Rehearsal`, `HeraldStore+Delivery`, ...).
extension HeraldStore: EngineStorage {
    func isolatedForDryRun() -> any EngineStorage {
        withPrivateConfigurationCache()
    }

    func describe(_ error: any Error) -> String {
        (error as? DatabaseError).map { $0.message ?? "SQLite error \($0.resultCode)" } ?? "\(error)"
    }
}
