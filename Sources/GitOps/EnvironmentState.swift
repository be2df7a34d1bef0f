import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// The environments rendered from a project's catalog alone, one directory per project:
/// `staging/<project>/` and `production/<project>/` (previews are per task, under `preview/`).
public enum StableEnvironment: String, Sendable, CaseIterable, Codable {
    case staging, production

    var renderName: EnvironmentName { self == .staging ? .staging : .production }

    /// The environment a path or an argument names; anything else is `environment_not_found`
    /// (404: there is no such environment to read, deploy or roll back).
    public static func named(_ text: String) throws -> StableEnvironment {
        guard let environment = StableEnvironment(rawValue: text) else {
            throw NotFoundError(code: "environment_not_found",
                                message: "env: \(YAMLEmitter.quoted(CommitMessage.oneLine(text))) is not an environment; use staging or production")
        }
        return environment
    }
}

/// One environment of one project: `staging/<project>/` or `production/<project>/`.
public struct EnvironmentScope: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var environment: StableEnvironment
    public var project: String

    public init(_ environment: StableEnvironment, project: String = ProjectName.builtIn) {
        self.environment = environment; self.project = project
    }

    /// `staging/<project>` or `production/<project>`.
    public var directory: String { "\(environment.rawValue)/\(project)" }

    public var description: String { directory }

    /// The command that shows this environment's history, for messages.
    var historyCommand: String {
        "manifestor history \(environment.rawValue)" + (project == ProjectName.builtIn ? "" : " --project \(project)")
    }
}

/// One service whose image an operation changes (`from` is nil when it ran nothing before).
public struct ImageChange: Sendable, Codable, Equatable {
    public var service: String
    public var from: String?
    public var to: String?

    public init(service: String, from: String?, to: String?) {
        self.service = service; self.from = from; self.to = to
    }

    /// The `Change:` trailer value: `backend: <old> → <new>`.
    var trailer: String { "\(service): \(from ?? "none") → \(to ?? "none")" }

    /// Every service whose image differs between `old` and `new`, in name order.
    static func between(_ old: [String: String], _ new: [String: String]) -> [ImageChange] {
        Set(old.keys).union(new.keys).sorted().compactMap { service in
            old[service] == new[service] ? nil : ImageChange(service: service, from: old[service], to: new[service])
        }
    }
}

/// What a staging deploy, a promotion or a rollback leaves an environment running.
public struct EnvironmentUpdate: Sendable, Equatable {
    public var scope: EnvironmentScope
    /// service → image, as the Deployments name it.
    public var images: [String: String]
    /// service → the tag a pinned image was resolved from (`aiworker.dev/image-tag`).
    public var tags: [String: String]
    public var changes: [ImageChange]
    /// For a rollback: the commit whose content was restored.
    public var restoredFrom: ObjectID?
}

/// The JSON answer of `POST /api/environments/staging/deploy`, `.../rollback` and
/// `GET /api/environments/{env}` (and of the matching CLI commands with `--json`).
public struct EnvironmentAnswer: Codable, Sendable, Equatable {
    public var project: String
    public var environment: String
    /// `staging/<project>` or `production/<project>`.
    public var path: String
    /// The commit made, or the tip when nothing changed; for a read, the last commit that touched it.
    public var commit: String?
    public var changed: Bool?
    public var images: [String: String]
    public var tags: [String: String]
    public var changes: [ImageChange]?
    public var restoredFrom: String?
    /// For a read: subject and date of the last commit that touched the environment.
    public var subject: String?
    public var date: String?
    /// For a read, when the config names Argo CD: the environment's Application as it reports it.
    public var status: ApplicationStatus?

    public init(_ outcome: CommitOutcome<EnvironmentUpdate>) {
        let update = outcome.answer
        project = update.scope.project
        environment = update.scope.environment.rawValue
        path = update.scope.directory
        commit = outcome.commit?.hex
        changed = outcome.changed
        images = update.images
        tags = update.tags
        changes = update.changes
        restoredFrom = update.restoredFrom?.hex
    }

    public init(scope: EnvironmentScope, commit: String?, images: [String: String], tags: [String: String], subject: String?, date: String?) {
        project = scope.project; environment = scope.environment.rawValue; path = scope.directory
        self.commit = commit; self.images = images; self.tags = tags
        self.subject = subject; self.date = date
    }
}

/// Images and tags an environment's files declare.
struct RunningImages: Equatable {
    var images: [String: String]
    var tags: [String: String]

    init(files: [String: Data]) {
        images = ManifestReader.images(files: files)
        tags = ManifestReader.imageTags(files: files)
    }

    init(rendered: RenderedEnvironment) {
        self.init(files: rendered.files.mapValues { Data($0.utf8) })
    }
}

extension TreeSnapshot {
    /// The commits on the first-parent line from the tip that changed `directory` (its tree
    /// id differs from the parent's) and satisfy `matching`, newest first; at most `limit`,
    /// looking at no more than `scanLimit` commits.
    func commitsChanging(_ directory: String, limit: Int, scanLimit: Int = 100_000,
                         matching: (CommitInfo) -> Bool = { _ in true }) throws -> [CommitInfo] {
        guard let tip = commit, limit > 0 else { return [] }
        var found: [CommitInfo] = []
        var current = try repository.commit(tip)
        var currentTree = try repository.treeID(commit: tip, path: directory)
        for _ in 0..<scanLimit {
            let parent = current.parents.first
            let parentTree = try parent.flatMap { try repository.treeID(commit: $0, path: directory) }
            if currentTree != parentTree, matching(current) {
                found.append(current)
                if found.count == limit { break }
            }
            guard let parent else { break }
            current = try repository.commit(parent)
            currentTree = parentTree
        }
        return found
    }

    /// The changes that make `directory` hold exactly `files`, byte for byte.
    func syncChanges(directory: String, toData files: [String: Data]) throws -> [TreeChange] {
        let existing = try self.files(under: directory)
        var changes: [TreeChange] = []
        for (name, data) in files.sorted(by: { $0.key < $1.key }) where existing[name] != data {
            changes.append(.upsert(path: "\(directory)/\(name)", content: data))
        }
        for name in existing.keys.sorted() where files[name] == nil {
            changes.append(.delete(path: "\(directory)/\(name)"))
        }
        return changes
    }
}

/// Trailers shared by the operations that change an environment: who asked, what ran, and
/// what changed.
func environmentTrailers(operation: String, project: String, requestedBy: String, images: [String: String],
                         changes: [ImageChange]) -> [(String, String)] {
    [("Project", project), ("Requested-By", requestedBy), ("Operation", operation)]
        + images.keys.sorted().map { ("Image", "\($0)=\(images[$0]!)") }
        + changes.map { ("Change", $0.trailer) }
}

/// What an environment runs at the tip, and the last commit that touched it.
public func environmentAnswer(_ scope: EnvironmentScope, tree: TreeSnapshot) throws -> EnvironmentAnswer {
    let running = RunningImages(files: try tree.files(under: scope.directory))
    let last = try tree.commitsChanging(scope.directory, limit: 1).first
    return EnvironmentAnswer(scope: scope, commit: last?.id.hex, images: running.images, tags: running.tags,
                             subject: last?.subject, date: last.map { RFC3339.format($0.author.date) })
}
