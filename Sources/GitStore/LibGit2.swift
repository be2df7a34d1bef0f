import CLibGit2
import Foundation

/// `git_libgit2_init()` once per process: a global `let` is initialised lazily and atomically.
private let libgit2InitResult: Int32 = git_libgit2_init()

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
