import Foundation

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

/// Removes `user:password@` from every URL in `text` and replaces each secret by `***`.
package func redactingCredentials(in text: String, secrets: [String] = []) -> String {
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
