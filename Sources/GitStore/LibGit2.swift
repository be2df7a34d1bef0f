import CLibGit2
import Foundation
import GitWire

/// `git_libgit2_init()` once per process, then the process-wide memory settings: a global `let`
/// is initialised lazily and atomically.
private let libgit2InitResult: Int32 = {
    let result = git_libgit2_init()
    LibGit2Tuning.apply()
    return result
}()

/// Process-wide libgit2 settings for a repository whose `preview/` tree has thousands of entries
/// (measured in bench/README.md).
enum LibGit2Tuning {
    /// libgit2 caches no tree over 4 KB by default, so every commit re-read, inflated and hashed
    /// the whole `preview/` tree (480 KB at 10,000 previews) several times.
    static let treeCacheLimit = 4 << 20
    /// The object cache across all repositories (default 256 MiB).
    static let cacheMaxSize = 2 << 20
    /// One mapped window of a pack (default 1 GiB: a whole 41 MB pack stays mapped and resident).
    static let packWindowSize = 2 << 20
    /// All mapped pack windows together (default 8 GiB); least recently used ones are unmapped.
    static let packMappedLimit = 8 << 20

    /// libgit2 hashes every object it reads from disk again to check its id: a whole SHA-1 of
    /// the 480 KB `preview/` tree for each commit that reads the tree the previous one wrote.
    /// Off: what Manifestor reads it wrote itself, and what it pushes is hashed and checked by
    /// the server (`index-pack`, then the connectivity check refuses a ref to a missing object).
    static let strictHashVerification: Int32 = 0

    static func apply() {
        // Failures leave libgit2's defaults, which are correct, only bigger and slower.
        _ = manifestor_git_set_cache_object_limit(GIT_OBJECT_TREE, treeCacheLimit)
        _ = manifestor_git_set_cache_max_size(cacheMaxSize)
        _ = manifestor_git_set_mwindow_size(packWindowSize)
        _ = manifestor_git_set_mwindow_mapped_limit(packMappedLimit)
        _ = manifestor_git_enable_strict_hash_verification(strictHashVerification)
    }
}

/// Call before any other libgit2 function.
func ensureLibgit2() {
    _ = libgit2InitResult
}

/// The version of the libgit2 library linked at run time, e.g. "1.5.1".
public func libgit2Version() -> String {
    ensureLibgit2()
    var major: Int32 = 0
    var minor: Int32 = 0
    var revision: Int32 = 0
    _ = git_libgit2_version(&major, &minor, &revision)
    return "\(major).\(minor).\(revision)"
}

/// Runs one libgit2 call: clears the thread's last error first (so a stale message is never
/// reported) and turns a negative return code into a `GitError` read at once.
@discardableResult
func gitCall(_ operation: String, _ body: () -> Int32) throws -> Int32 {
    git_error_clear()
    let code = body()
    if code < 0 {
        throw GitError.lastError(code, operation: operation)
    }
    return code
}

/// The process-global TLS trust anchor set through `GIT_OPT_SET_SSL_CERT_LOCATIONS`.
/// Set only when it changes: replacing the store while another thread is in a handshake is racy.
private final class TrustedCertificates: @unchecked Sendable {
    private let lock = NSLock()
    private var currentFile: String?

    func use(file: String, operation: String) throws {
        lock.lock()
        defer { lock.unlock() }
        guard currentFile != file else { return }
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw GitError(kind: .certificate, message: "CA file \(file) does not exist or is not readable",
                           operation: operation)
        }
        try gitCall(operation) { manifestor_git_set_ssl_cert_file(file) }
        currentFile = file
    }
}

private let trustedCertificates = TrustedCertificates()

func useCertificateAuthorityFile(_ file: String, operation: String) throws {
    ensureLibgit2()
    try trustedCertificates.use(file: file, operation: operation)
}

/// Returns the allocator's free memory to the system. A batch at 10,000 previews allocates and
/// frees tens of megabytes (raw trees, packs, libgit2's objects); glibc keeps what was freed in
/// its arenas, so a committer calls this when it goes idle, and the next burst starts low.
public func trimFreeMemory() {
    _ = manifestor_malloc_trim()
}
