import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// Where a promotion takes its images from.
public enum PromotionSource: Sendable, Equatable, CustomStringConvertible {
    case staging
    case preview(taskID: String)

    /// `staging`, or `preview/task-<id>`.
    public static func named(_ text: String) throws -> PromotionSource {
        if text == "staging" { return .staging }
        let prefix = "preview/task-"
        if text.hasPrefix(prefix) {
            let id = String(text.dropFirst(prefix.count))
            do { try TaskID.validate(id) } catch {
                throw InputError(code: "invalid_task_id", field: "from", rule: error.rule)
            }
            return .preview(taskID: id)
        }
        throw InputError(code: "invalid_promotion", field: "from",
                         rule: "must be staging or preview/task-<id>, not \(YAMLEmitter.quoted(CommitMessage.oneLine(text)))")
    }

    /// `staging/<project>`, or `preview/task-<id>` (task ids are global).
    public func directory(project: String) -> String {
        switch self {
        case .staging: EnvironmentScope(.staging, project: project).directory
        case .preview(let id): TaskID.directory(id)
        }
    }

    /// `staging` or `preview/task-<id>`, as the request names it.
    public var description: String {
        switch self {
        case .staging: "staging"
        case .preview(let id): TaskID.directory(id)
        }
    }
}

/// Copies what one environment of a project runs into the next: staging → production, or a
/// preview of the project → staging. The source is read at the tip inside `plan`, so a re-run after a refused push
/// re-reads it. `services` limits the promotion (the others keep what the target runs).
/// Production refuses images without digests unless `allowTag`.
public struct Promote: GitOperation {
    public var from: PromotionSource
    public var to: StableEnvironment
    /// Empty: every service the source runs.
    public var services: [String]
    public var allowTag: Bool
    public var requestedBy: String
    /// The project whose environments are promoted (its catalog is read at the tip).
    public var project: String
    /// The commit that last changed the target as the caller saw it (`ExpectedCommit`).
    public var expected: String?
    /// The promotion gate's decision (`PromotionGate`); nil when no Argo CD is configured.
    public var gate: PromotionGate?

    public init(from: PromotionSource, to: StableEnvironment, services: [String] = [], allowTag: Bool = false,
                requestedBy: String = defaultRequester, project: String = ProjectName.builtIn, expected: String? = nil) throws {
        switch (from, to) {
        case (.staging, .production), (.preview, .staging): break
        default:
            throw InputError(code: "invalid_promotion", field: "to",
                             rule: "\(from) can't be promoted to \(to.rawValue); promote staging → production or preview/task-<id> → staging")
        }
        self.from = from; self.to = to; self.services = services; self.allowTag = allowTag; self.requestedBy = requestedBy
        self.project = project; self.expected = expected
    }

    /// Parses the names of the HTTP body and of the CLI arguments.
    public init(from: String, to: String, services: [String] = [], allowTag: Bool = false, requestedBy: String = defaultRequester,
                project: String = ProjectName.builtIn, expected: String? = nil) throws {
        guard let target = StableEnvironment(rawValue: to) else {
            throw InputError(code: "invalid_environment", field: "to",
                             rule: "must be staging or production, not \(YAMLEmitter.quoted(CommitMessage.oneLine(to)))")
        }
        try self.init(from: try PromotionSource.named(from), to: target, services: services, allowTag: allowTag, requestedBy: requestedBy,
                      project: project, expected: try ExpectedCommit.parse(expected))
    }

    public var name: String { "promote" }

    var target: EnvironmentScope { EnvironmentScope(to, project: project) }

    /// `catalog` is the project's.
    public func validate(_ catalog: Catalog) throws {
        try ProjectName.validate(project)
        var seen = Set<String>()
        for service in services {
            guard catalog.service(named: service) != nil else {
                throw InputError(code: "unknown_service", field: "services",
                                 rule: "\(YAMLEmitter.quoted(CommitMessage.oneLine(service))) is not a service; the catalog has \(catalog.services.map(\.name).joined(separator: ", "))", kind: .unprocessable)
            }
            guard seen.insert(service).inserted else {
                throw InputError(code: "invalid_services", field: "services", rule: "\(service) is named more than once")
            }
        }
        try validateRequester(requestedBy)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<PromotionResult> {
        try ExpectedCommit.check(expected, scope: target, tree: tree)
        try gate?.check(source: from, directory: from.directory(project: project), tree: tree)
        let catalog = try ProjectCatalogs.catalog(project, tree: tree, builtIn: context.catalog)
        let source = RunningImages(files: try tree.files(under: from.directory(project: project)))
        guard !source.images.isEmpty else {
            switch from {
            case .staging:
                throw NotFoundError(code: "environment_empty",
                                    message: "\(from.directory(project: project))/ runs nothing yet: deploy staging before promoting it")
            case .preview(let id):
                throw NotFoundError(code: "preview_not_found", message: "no preview for task \(id)")
            }
        }
        if case .preview(let id) = from, let state = try ManifestReader.preview(taskID: id, tree: tree, domain: context.previewDomain),
           state.project != project {
            throw InputError(code: "project_mismatch", field: "from",
                             rule: "preview/task-\(id) runs project \(state.project), not \(project); promote it to \(state.project)'s staging (/api/projects/\(state.project)/promote, or --project \(state.project))",
                             kind: .unprocessable)
        }
        let running = RunningImages(files: try tree.files(under: target.directory))
        let selected = services.isEmpty ? catalog.services.map(\.name).filter { source.images[$0] != nil } : services.sorted()
        var requested: [String: String] = [:]
        var tags = running.tags.filter { !selected.contains($0.key) }
        let digestsRequired = to == .production && !allowTag && (catalog.environments.production.requireDigest ?? true)
        for service in selected {
            guard let image = source.images[service] else {
                throw InputError(code: "service_not_in_source", field: "services", rule: "\(from) runs no \(service), so there is nothing of it to promote", kind: .unprocessable)
            }
            if digestsRequired, (try? ImageReference(parsing: image))?.digest == nil {
                throw InputError(code: "image_not_pinned", field: "\(from).\(service)",
                                 rule: "\(from) runs \(image), a tag and not a digest, and \(to.rawValue) takes only digests: deploy \(from) through a configured registry (tags are then pinned) or pass --allow-tag (\"allowTag\": true) to promote the tag as it is", kind: .unprocessable)
            }
            requested[service] = image
            tags[service] = source.tags[service]
        }
        let rendered = try Renderer(catalog: catalog)
            .render(to.renderName, images: requested, fallbackImages: running.images, imageTags: tags, allowTag: allowTag)
        let result = RunningImages(rendered: rendered)
        let changes = ImageChange.between(running.images, result.images)
        let promoted = changes.compactMap { change in change.to.map { shortImage(service: change.service, reference: $0) } }
        var trailers = environmentTrailers(operation: name, project: project, requestedBy: requestedBy, images: result.images, changes: changes)
        if case .preview(let id) = from { trailers.insert(("Task-Id", id), at: 0) }
        if let gate { trailers.append(gate.trailer(source: from)) }
        let message = CommitMessage(
            subject: "promote(\(from.directory(project: project))→\(target)): \(promoted.isEmpty ? "re-render" : promoted.joined(separator: ", "))",
            trailers: trailers)
        return OperationPlan(
            changes: try tree.syncChanges(directory: target.directory, to: rendered.files),
            message: message,
            answer: PromotionResult(project: project, from: from.description, to: to.rawValue, changes: changes, images: result.images, tags: result.tags,
                                    gate: gate?.label ?? "unchecked"))
    }
}

/// What a promotion did to the target.
public struct PromotionResult: Sendable, Equatable {
    public var project: String
    public var from: String
    public var to: String
    public var changes: [ImageChange]
    public var images: [String: String]
    public var tags: [String: String]
    /// `ready`, `forced` or `unchecked` (`PromotionGate.label`).
    public var gate: String
}

/// The JSON answer of `POST /api/promote` and of `manifestor promote --json`.
public struct PromotionAnswer: Codable, Sendable, Equatable {
    public var project: String
    public var from: String
    public var to: String
    /// The commit made (on main, or on the review branch), or main's tip when nothing differed.
    public var commit: String?
    /// `promote/<env>/<short-id>` when the commit went to a review branch.
    public var branch: String?
    public var changed: Bool
    public var changes: [ImageChange]
    public var images: [String: String]
    public var tags: [String: String]
    /// Whether the source was checked ready in Argo CD (`ready`), promoted anyway (`forced`),
    /// or not checked because no Argo CD is configured (`unchecked`).
    public var gate: String?

    public init(_ outcome: CommitOutcome<PromotionResult>, branch: String?) {
        project = outcome.answer.project; from = outcome.answer.from; to = outcome.answer.to
        gate = outcome.answer.gate
        commit = outcome.commit?.hex; self.branch = branch; changed = outcome.changed
        changes = outcome.answer.changes; images = outcome.answer.images; tags = outcome.answer.tags
    }
}

/// The branch a reviewed promotion is pushed to: `promote/production/<first 12 hex>` for
/// `aiworker`, `promote/<project>/production/<first 12 hex>` for the others.
public func reviewBranchName(target: StableEnvironment, project: String = ProjectName.builtIn, commit: ObjectID) -> String {
    project == ProjectName.builtIn ? "promote/\(target.rawValue)/\(commit.short)" : "promote/\(project)/\(target.rawValue)/\(commit.short)"
}
