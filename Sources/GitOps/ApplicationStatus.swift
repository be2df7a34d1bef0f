import Foundation

/// An Argo CD Application as Manifestor reports it beside a preview or an environment
/// (`"status"` in the answers): what Argo CD says, and whether that makes it ready.
public struct ApplicationStatus: Codable, Sendable, Equatable {
    /// The Application's name (`preview-task-<id>`, `staging-<project>`, `production-<project>`).
    public var application: String
    /// `status.sync.status`: Synced, OutOfSync, Unknown; nil when the Application does not exist.
    public var sync: String?
    /// `status.sync.revision`: the commit Argo CD compared against.
    public var revision: String?
    /// `status.health.status`: Healthy, Progressing, Degraded, Suspended, Missing, Unknown.
    public var health: String?
    /// `status.operationState.phase` of the last operation: Running, Succeeded, Failed, Error, Terminating.
    public var operation: String?
    /// Synced at the commit that last changed the directory or later, Healthy, and the last
    /// operation did not fail.
    public var ready: Bool
    /// Degraded, or the last operation Failed or Error, at that revision: waiting longer will
    /// not make it ready.
    public var failed: Bool
    /// Why it is not ready, in words (absent when ready).
    public var reason: String?
    /// Set when Argo CD could not be asked (unreachable, token refused): the rest is unknown.
    public var error: String?
    /// When Argo CD was asked (RFC 3339, UTC).
    public var checkedAt: String

    public init(application: String, sync: String? = nil, revision: String? = nil, health: String? = nil, operation: String? = nil,
                ready: Bool = false, failed: Bool = false, reason: String? = nil, error: String? = nil, checkedAt: Date) {
        self.application = application; self.sync = sync; self.revision = revision; self.health = health
        self.operation = operation; self.ready = ready; self.failed = failed; self.reason = reason; self.error = error
        self.checkedAt = Self.timestamp(checkedAt)
    }

    /// Whether a wait for it is over: ready, failed, or Argo CD could not be asked.
    public var settled: Bool { ready || failed }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// The Argo CD Application of each directory of the gitops repository, as the ApplicationSets
/// name them: `preview/task-<id>` → `preview-task-<id>`, `staging/<project>` →
/// `staging-<project>`, `production/<project>` → `production-<project>`.
public enum ApplicationNames {
    /// The Application generated for the top directory `path` lies in, and that directory.
    public static func application(ofPath path: String) -> (name: String, directory: String)? {
        let parts = path.split(separator: "/", maxSplits: 2)
        guard parts.count >= 2, ["preview", "staging", "production"].contains(parts[0]) else { return nil }
        return ("\(parts[0])-\(parts[1])", "\(parts[0])/\(parts[1])")
    }

    /// `preview-task-<id>`.
    public static func preview(taskID: String) -> String { "preview-task-\(taskID)" }

    /// `staging-<project>` or `production-<project>`.
    public static func environment(_ scope: EnvironmentScope) -> String { "\(scope.environment.rawValue)-\(scope.project)" }
}
