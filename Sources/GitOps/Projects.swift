import Foundation
import GitWire
import KubeModel
import Templates

/// The catalogs of the projects as the tree at a tip holds them: `aiworker` from `templates/`,
/// every other project from `projects/<project>.yaml` (checked when it was written).
public enum ProjectCatalogs {
    public static func catalog(_ project: String, tree: TreeSnapshot, builtIn: Catalog) throws -> Catalog {
        if project == ProjectName.builtIn { return builtIn }
        return try Catalog.project(project, document: try document(project, tree: tree), base: builtIn, rendering: false)
    }

    /// The registered document of `project`; 404 when there is none.
    static func document(_ project: String, tree: TreeSnapshot) throws -> ProjectDocument {
        guard let text = try tree.text(ProjectName.file(project)) else {
            throw NotFoundError(code: "project_not_found", message: "project: no project \(project) is registered")
        }
        return try ProjectDocument.decode(text, source: ProjectName.file(project))
    }

    /// 404 unless `project` is built in or registered at `tree`.
    public static func requireRegistered(_ project: String, tree: TreeSnapshot) throws {
        if project != ProjectName.builtIn { _ = try document(project, tree: tree) }
    }

    /// Every registered project's name, in order.
    static func registered(tree: TreeSnapshot) throws -> [String] {
        try tree.entries("projects").filter { !$0.isTree && $0.name.hasSuffix(".yaml") }
            .map { String($0.name.dropLast(".yaml".count)) }.sorted()
    }
}

extension Committer {
    /// The catalog of `project`: `builtIn` for `aiworker` (no git needed), else the registered
    /// one at the remote's tip (fetched first; 404 when there is none).
    public func catalog(of project: String, builtIn: Catalog) async throws -> Catalog {
        try ProjectName.validate(project)
        if project == ProjectName.builtIn { return builtIn }
        return try await read(refresh: true) { tree in try ProjectCatalogs.catalog(project, tree: tree, builtIn: builtIn) }
    }
}

/// Registers or updates a project: one commit writing `projects/<project>.yaml` (canonical
/// YAML, so that reviewers read a small diff); no commit when the document is the same.
public struct RegisterProject: GitOperation {
    public var project: String
    public var document: ProjectDocument
    public var requestedBy: String

    public init(project: String, document: ProjectDocument, requestedBy: String = defaultRequester) {
        self.project = project; self.document = document; self.requestedBy = requestedBy
    }

    public var name: String { "register-project" }

    /// The name, the requester, and the document, checked by building its catalog over
    /// `builtIn`'s settings and rendering every environment of it.
    public func validate(builtIn: Catalog) throws {
        try validateRegistered(project, requestedBy: requestedBy)
        _ = try Catalog.project(project, document: document, base: builtIn)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<ProjectAnswer> {
        let path = ProjectName.file(project)
        let content = Data(try document.canonicalYAML(project: project).utf8)
        let existing = try tree.blob(path)
        let services = document.services.keys.sorted()
        return OperationPlan(
            changes: existing == content ? [] : [.upsert(path: path, content: content)],
            message: CommitMessage(
                subject: "project(\(project)): \(existing == nil ? "register" : "update") \(services.joined(separator: ", "))",
                trailers: [("Project", project), ("Requested-By", requestedBy), ("Operation", name)]),
            answer: ProjectAnswer(project: project, document: document, created: existing == nil))
    }
}

/// Removes a project's catalog; refused (409) while a preview, `staging/<project>/` or
/// `production/<project>/` of the project exists.
public struct DeleteProject: GitOperation {
    public var project: String
    public var requestedBy: String

    public init(project: String, requestedBy: String = defaultRequester) {
        self.project = project; self.requestedBy = requestedBy
    }

    public var name: String { "delete-project" }

    public func validate() throws {
        try validateRegistered(project, requestedBy: requestedBy)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<ProjectAnswer> {
        let document = try ProjectCatalogs.document(project, tree: tree)
        let users = try allPreviews(tree: tree, domain: context.previewDomain).filter { $0.project == project }.map(\.path)
        guard users.isEmpty else {
            let listed = users.prefix(5).joined(separator: ", ") + (users.count > 5 ? ", …" : "")
            throw ConflictError(code: "project_in_use", message: "project: \(project) still has \(users.count) preview\(users.count == 1 ? "" : "s") (\(listed)); delete them first")
        }
        for environment in StableEnvironment.allCases {
            let directory = EnvironmentScope(environment, project: project).directory
            guard try tree.treeID(directory) == nil else {
                throw ConflictError(code: "project_in_use", message: "project: \(project) still has \(directory)/; an environment's directory is removed by hand, through review")
            }
        }
        return OperationPlan(
            changes: [.delete(path: ProjectName.file(project))],
            message: CommitMessage(subject: "project(\(project)): delete",
                                   trailers: [("Project", project), ("Requested-By", requestedBy), ("Operation", name)]),
            answer: ProjectAnswer(project: project, document: document, created: false))
    }
}

/// The JSON answer of the project routes: the project and its document, with the commit of a write.
public struct ProjectAnswer: Codable, Sendable, Equatable {
    public var project: String
    public var builtIn: Bool
    /// Where the catalog lives: `projects/<project>.yaml`, or `templates/` for `aiworker`.
    public var path: String
    public var services: [String: ServiceSpec]
    public var environments: ProjectDocument.EnvironmentOverrides?
    public var commit: String?
    public var changed: Bool?
    /// For a write: whether it registered the project (201) rather than updated it.
    public var created: Bool?

    init(project: String, document: ProjectDocument, created: Bool?) {
        self.project = project
        builtIn = project == ProjectName.builtIn
        path = builtIn ? "templates/" : ProjectName.file(project)
        services = document.services
        environments = document.environments
        self.created = created
    }

    /// The answer of a write.
    public init(_ outcome: CommitOutcome<ProjectAnswer>) {
        self = outcome.answer
        commit = outcome.commit?.hex
        changed = outcome.changed
        if !outcome.changed { created = false }
    }

    /// The project at `tree` (aiworker: the built-in catalog).
    public static func read(_ project: String, tree: TreeSnapshot, builtIn: Catalog) throws -> ProjectAnswer {
        try ProjectName.validate(project)
        let document = project == ProjectName.builtIn
            ? ProjectDocument(services: Dictionary(uniqueKeysWithValues: builtIn.services.map { ($0.name, $0) }), environments: nil)
            : try ProjectCatalogs.document(project, tree: tree)
        var answer = ProjectAnswer(project: project, document: document, created: nil)
        answer.commit = tree.commit?.hex
        return answer
    }
}

/// The JSON answer of `GET /api/projects`.
public struct ProjectList: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var project: String
        public var builtIn: Bool
        public var services: [String]
    }

    public var projects: [Entry]
    public var count: Int

    public init(tree: TreeSnapshot, builtIn: Catalog) throws {
        var entries = [Entry(project: ProjectName.builtIn, builtIn: true, services: builtIn.services.map(\.name))]
        for name in try ProjectCatalogs.registered(tree: tree) where name != ProjectName.builtIn {
            let services = (try? ProjectCatalogs.document(name, tree: tree).services.keys.sorted()) ?? []
            entries.append(Entry(project: name, builtIn: false, services: services))
        }
        projects = entries
        count = entries.count
    }
}

/// What registering and deleting both check: a valid name that is not the built-in project's.
private func validateRegistered(_ project: String, requestedBy: String) throws {
    try ProjectName.validate(project)
    guard project != ProjectName.builtIn else {
        throw InputError(code: "project_built_in", field: "project",
                         rule: "\(project) is built in (templates/): it cannot be registered or deleted", kind: .unprocessable)
    }
    try validateRequester(requestedBy)
}
