import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// Deletes every preview whose Namespace annotation `aiworker.dev/expires-at` has passed, in
/// one commit that lists them; with `project`, only that project's previews. A preview without
/// the annotation never expires.
public struct ExpirePreviews: GitOperation {
    /// The moment to compare with; nil: the committer's clock.
    public var now: Date?
    public var requestedBy: String
    /// Only the previews of this project; nil: every project's.
    public var project: String?

    public init(now: Date? = nil, requestedBy: String = defaultRequester, project: String? = nil) {
        self.now = now; self.requestedBy = requestedBy; self.project = project
    }

    public func validate() throws {
        if let project { try ProjectName.validate(project) }
        try validateRequester(requestedBy)
    }

    public var name: String { "gc" }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<ExpiryResult> {
        let now = self.now ?? context.now
        var expired: [ExpiredPreview] = []
        for id in try ManifestReader.previewTaskIDs(tree: tree).sorted() {
            let namespaceFile = "\(TaskID.directory(id))/namespace-\(TaskID.namespace(id)).yaml"
            guard let yaml = try tree.text(namespaceFile), let expiresAt = ManifestReader.expiresAt(namespaceYAML: yaml),
                  expiresAt <= now else { continue }
            // Previews rendered before projects existed carry no label: they are AiWorker's.
            if let project, (ManifestReader.value(of: Renderer.projectLabel, in: yaml) ?? ProjectName.builtIn) != project { continue }
            expired.append(ExpiredPreview(taskId: id, expiresAt: RFC3339.format(expiresAt)))
        }
        let names = expired.map { "task-\($0.taskId)" }
        let listed = names.count <= 5 ? names.joined(separator: ", ") : names.prefix(5).joined(separator: ", ") + ", …"
        let message = CommitMessage(
            subject: "gc\(project.map { "(\($0))" } ?? ""): remove \(expired.count) expired preview\(expired.count == 1 ? "" : "s") (\(listed))",
            body: expired.map { "- preview/task-\($0.taskId) expired at \($0.expiresAt)" }.joined(separator: "\n"),
            trailers: (project.map { [("Project", $0)] } ?? []) + [("Requested-By", requestedBy), ("Operation", name)] + expired.map { ("Task-Id", $0.taskId) })
        return OperationPlan(changes: expired.map { .delete(path: TaskID.directory($0.taskId)) }, message: message,
                             answer: ExpiryResult(now: RFC3339.format(now), removed: expired))
    }
}

public struct ExpiredPreview: Sendable, Codable, Equatable {
    public var taskId: String
    public var expiresAt: String
}

public struct ExpiryResult: Sendable, Equatable {
    public var now: String
    public var removed: [ExpiredPreview]
}

/// The JSON answer of `manifestor gc --json`.
public struct ExpiryAnswer: Codable, Sendable, Equatable {
    public var commit: String?
    public var changed: Bool
    public var now: String
    public var removed: [ExpiredPreview]

    public init(_ outcome: CommitOutcome<ExpiryResult>) {
        commit = outcome.commit?.hex; changed = outcome.changed; now = outcome.answer.now; removed = outcome.answer.removed
    }
}
