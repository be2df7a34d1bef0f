import CLibGit2
import Foundation
import GitWire

extension GitError {
    /// Builds the error for a failed libgit2 call. Must be called right after the failing call,
    /// on the same thread: `git_error_last()` is thread-local and overwritten by the next call.
    static func lastError(
        _ code: Int32, operation: String, network: Bool = false, secrets: [String] = []
    ) -> GitError {
        var message = "libgit2 error \(code)"
        var errorClass: Int32 = -1
        if let last = git_error_last(), let text = last.pointee.message {
            message = String(cString: text)
            errorClass = last.pointee.klass
        }
        message = redactingCredentials(in: message, secrets: secrets)
        let kind = classify(code: code, errorClass: errorClass, message: message, network: network)
        return GitError(kind: kind, code: code, message: message, operation: operation)
    }

    static func classify(code: Int32, errorClass: Int32, message: String, network: Bool) -> Kind {
        switch code {
        case GIT_ENONFASTFORWARD.rawValue, GIT_EMODIFIED.rawValue: return .refused
        case GIT_EAUTH.rawValue: return .authentication
        case GIT_ECERTIFICATE.rawValue: return .certificate
        case GIT_ELOCKED.rawValue: return .locked
        case GIT_EINVALIDSPEC.rawValue, GIT_EINVALID.rawValue, GIT_EAMBIGUOUS.rawValue: return .invalidInput
        case GIT_ENOTFOUND.rawValue where !network: return .notFound
        default: break
        }
        let text = message.lowercased()
        let missing = ["object not found", "could not find repository", "no such repository", "failed to resolve path"]
        if missing.contains(where: text.contains) {
            return .notFound
        }
        let networkClasses = [GIT_ERROR_NET, GIT_ERROR_SSL, GIT_ERROR_HTTP, GIT_ERROR_SSH, GIT_ERROR_OS]
            .map { Int32(bitPattern: $0.rawValue) }
        guard network, networkClasses.contains(errorClass) || code == GIT_ENOTFOUND.rawValue
        else {
            return code == GIT_ENOTFOUND.rawValue ? .notFound : .other
        }
        if ["certificate", "x509", "common name", "ssl certificate"].contains(where: text.contains) {
            return .certificate
        }
        if ["401", "403", "authentication", "unauthorized", "forbidden", "credentials", "permission denied"]
            .contains(where: text.contains)
        {
            return .authentication
        }
        if text.contains("404") || text.contains("not found") {
            return .notFound
        }
        return .unreachable
    }
}

