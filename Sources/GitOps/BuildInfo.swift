import Foundation
import GitStore

/// What this binary is: its version, the git commit it was built from and the libgit2 it runs
/// with. The commit is read from `MANIFESTOR_COMMIT`, which the Makefile and the Dockerfile set
/// (SwiftPM has no build-time hook for it); anything that is not 7-40 hex digits is "unknown".
public struct BuildInfo: Codable, Sendable, Equatable {
    public static let version = "0.1.0"

    public var version: String
    public var commit: String
    public var libgit2: String

    public init(version: String, commit: String, libgit2: String) {
        self.version = version; self.commit = commit; self.libgit2 = libgit2
    }

    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> BuildInfo {
        BuildInfo(version: version, commit: commit(from: environment["MANIFESTOR_COMMIT"]), libgit2: libgit2Version())
    }

    static func commit(from value: String?) -> String {
        guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(), (7...40).contains(value.count),
              value.allSatisfy(\.isHexDigit) else { return "unknown" }
        return value
    }

    /// `0.1.0 (commit 1a2b3c4, libgit2 1.5.1)`, for `manifestor --version`.
    public var line: String { "\(version) (commit \(commit), libgit2 \(libgit2))" }
}
