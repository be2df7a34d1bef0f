import Foundation
import CLibGit2

/// An error from libgit2 or from this wrapper. `message` never contains a token.
public struct GitError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// A ref update refused: by the remote, as a non-fast-forward, or a stale compare-and-swap.
        case refused
        case authentication
        case certificate
        /// Connection refused, DNS failure, timeout, HTTP 5xx.
        case unreachable
        case notFound
        /// A lock held by someone else (a `.lock` file in the repository, or the cache lock).
        case locked
        case invalidInput
        case other
    }

    public var kind: Kind
    /// The libgit2 return code (negative), or 0 when the failure was detected by this wrapper.
    public var code: Int32
    public var message: String
    /// What was being done, e.g. "push", "fetch", "makeCommit".
    public var operation: String

    public init(kind: Kind, code: Int32 = 0, message: String, operation: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.operation = operation
    }

    public var description: String {
        "\(operation) failed (\(kind)\(code == 0 ? "" : ", code \(code)")): \(message)"
    }

    /// Whether retrying the same operation later may succeed.
    public var isTransient: Bool {
        switch kind {
        case .unreachable, .locked, .refused: true
        default: false
        }
    }
}

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

/// Removes `user:password@` from every URL in `text` and replaces each secret by `***`.
func redactingCredentials(in text: String, secrets: [String] = []) -> String {
    var result = text
    for secret in secrets where !secret.isEmpty {
        result = result.replacingAll(secret, with: "***")
    }
    var output = ""
    var rest = Substring(result)
    while let schemeEnd = rest.range(of: "://") {
        output += rest[..<schemeEnd.upperBound]
        rest = rest[schemeEnd.upperBound...]
        // The authority ends at the first '/', whitespace or quote; userinfo is everything up to its last '@'.
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == " " || $0 == "'" || $0 == "\"" || $0 == "\n" }
            ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            rest = rest[rest.index(after: at)...]
        }
    }
    output += rest
    return output
}

extension String {
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var output = ""
        var rest = Substring(self)
        while let range = rest.range(of: target) {
            output += rest[..<range.lowerBound]
            output += replacement
            rest = rest[range.upperBound...]
        }
        output += rest
        return output
    }
}
