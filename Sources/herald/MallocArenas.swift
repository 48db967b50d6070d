/// glibc's allocator gives every thread that contends for it an arena of its own (up to 8
/// per core) and keeps freed memory in each: with NIO's, Swift's and GRDB's threads the
/// server's peak RSS under the batch benchmark was 165 MB with the default and 141 MB with 4
/// arenas, at the same throughput (2 arenas: 122 MB but 10% slower). `MALLOC_ARENA_MAX` in
/// the environment still wins.
enum MallocArenas {
    static func limitForServer(environment: [String: String]) {
        #if os(Linux)
        guard environment["MALLOC_ARENA_MAX"] == nil else { return }
        _ = glibcMallopt(glibcArenaMaximum, 4)
        #endif
    }
}

#if os(Linux)
// <malloc.h> is not part of Swift's Glibc module: declare the one function used.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
/// `M_ARENA_MAX` from <malloc.h>.
private let glibcArenaMaximum: Int32 = -8
#endif
