import SegmentClient

/// Herald's release version, printed by `herald --version`: the one the Segment client
/// names in `context.library` of the calls Herald sends, so the two cannot disagree.
enum HeraldVersion {
    static let current = SegmentLibrary.heraldVersion
}
