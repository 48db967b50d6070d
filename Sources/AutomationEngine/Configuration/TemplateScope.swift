import SegmentSpec

/// What a message's templates are rendered over, converted for swift-mustache on first use
/// only: plain templates (``PlainTemplate``) read the JSON directly, so a send whose subject
/// and body are plain never builds the conversion.
final class TemplateScope {
    let object: JSONObject
    private(set) lazy var mustacheContext: Any = JSONValue.object(object).mustacheContext

    init(_ object: JSONObject) {
        self.object = object
    }
}
