import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// The two layouts a gitops repository can be in. The older one kept AiWorker's staging and
/// production files directly in `staging/` and `production/`; the current one gives every
/// project `staging/<project>/` and `production/<project>/`. Writes run only on the current
/// layout; `manifestor migrate` (`MigrateLayout`) moves a repository from the older one.
public enum RepositoryLayout {
    /// A `*.yaml` file directly in `staging/` or `production/`, when the tree is in the older
    /// layout; nil when it is in the current one.
    static func olderLayoutFile(_ tree: TreeSnapshot) throws -> String? {
        for environment in StableEnvironment.allCases {
            if let name = try olderLayoutFiles(environment, tree).first { return "\(environment.rawValue)/\(name)" }
        }
        return nil
    }

    /// The names of the `*.yaml` files directly in `staging/` or `production/`, in order.
    static func olderLayoutFiles(_ environment: StableEnvironment, _ tree: TreeSnapshot) throws -> [String] {
        try tree.entries(environment.rawValue).filter { !$0.isTree && $0.name.hasSuffix(".yaml") }.map(\.name).sorted()
    }

    /// Refuses `command` on a tree in the older layout, with the one-line reason and the fix.
    static func requireCurrent(_ tree: TreeSnapshot, command: String) throws {
        guard let file = try olderLayoutFile(tree) else { return }
        throw ConflictError(code: "older_layout",
                            message: "\(command): the repository is in the older layout (\(file) sits directly in \(file.split(separator: "/")[0])/, not under staging/<project>/); run manifestor migrate --config FILE once, then retry")
    }
}

/// Moves a repository in the older layout to the current one in one commit: what `staging/`
/// and `production/` ran becomes `staging/aiworker/` and `production/aiworker/`, re-rendered
/// (so the objects land in `aiworker-staging` and `aiworker-production`) with the same images
/// and tags; the old files are deleted. A repository already in the current layout is left
/// unchanged.
public struct MigrateLayout: GitOperation {
    public var requestedBy: String

    public init(requestedBy: String = defaultRequester) { self.requestedBy = requestedBy }

    public var name: String { "migrate" }

    public var runsOnOlderLayout: Bool { true }

    public func validate() throws { try validateRequester(requestedBy) }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<MigrationResult> {
        var changes: [TreeChange] = []
        var moved: [MigrationResult.Move] = []
        for environment in StableEnvironment.allCases {
            let old = environment.rawValue
            let files = try RepositoryLayout.olderLayoutFiles(environment, tree)
            guard !files.isEmpty else { continue }
            var content: [String: Data] = [:]
            for name in files { content[name] = try tree.blob("\(old)/\(name)") }
            let scope = EnvironmentScope(environment, project: ProjectName.builtIn)
            let running = RunningImages(files: content)
            let target: [String: Data]
            if running.images.isEmpty {
                target = content
            } else {
                let rendered = try Renderer(catalog: context.catalog).render(
                    environment.renderName, images: running.images, imageTags: running.tags, allowTag: true)
                target = rendered.files.mapValues { Data($0.utf8) }
            }
            changes += files.map { .delete(path: "\(old)/\($0)") }
            changes += try tree.syncChanges(directory: scope.directory, toData: target)
            moved.append(.init(from: "\(old)/", to: "\(scope.directory)/", files: target.count))
        }
        let summary = moved.map { "\($0.from) → \($0.to)" }.joined(separator: ", ")
        let message = CommitMessage(
            subject: "migrate: \(moved.isEmpty ? "nothing to move" : summary)",
            body: moved.isEmpty ? nil : "Every project now has staging/<project>/ and production/<project>/; AiWorker's environments move there and run in aiworker-staging and aiworker-production.",
            trailers: [("Project", ProjectName.builtIn), ("Requested-By", requestedBy), ("Operation", name)])
        return OperationPlan(changes: changes, message: message, answer: MigrationResult(moved: moved))
    }
}

/// What a migration moved.
public struct MigrationResult: Sendable, Equatable, Codable {
    public struct Move: Sendable, Equatable, Codable {
        public var from: String
        public var to: String
        public var files: Int
    }

    public var moved: [Move]
}

/// The JSON answer of `manifestor migrate --json`.
public struct MigrationAnswer: Codable, Sendable, Equatable {
    public var commit: String?
    public var changed: Bool
    public var moved: [MigrationResult.Move]

    public init(_ outcome: CommitOutcome<MigrationResult>) {
        commit = outcome.commit?.hex; changed = outcome.changed; moved = outcome.answer.moved
    }
}
