import SegmentSpec

/// Builds events from JSON text for the suites.
enum SpecEvents {
    static func object(_ json: String) throws -> JSONObject {
        guard case .object(let object) = try JSONParser.parse(json) else {
            throw EventValidationError.invalid("test JSON is not an object")
        }
        return object
    }

    static func event(_ json: String, defaultType: EventType? = nil) throws -> SegmentEvent {
        try SegmentEvent(validating: try object(json), defaultType: defaultType)
    }

    /// The validation error for `json`, or nil when it is valid.
    static func validationError(_ json: String, defaultType: EventType? = nil) throws -> EventValidationError? {
        let object = try object(json)
        do {
            _ = try SegmentEvent(validating: object, defaultType: defaultType)
            return nil
        } catch {
            return error
        }
    }
}
