public import AutomationEngine
public import SegmentSpec

extension DryRunReport {
    /// The report as `POST /api/test` answers it: `{event, configVersion, draft, explain, runs}`,
    /// times in ISO-8601 and absent values as null. `herald test --json` prints this, so the
    /// command line and the management API show a dry run the same way.
    public var managementJSON: JSONValue { json }
}
