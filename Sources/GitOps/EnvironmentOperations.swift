import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// Re-renders `staging/<project>/` with the requested images; every other service keeps what
/// staging runs (and its tag annotation), else the catalog's default. Tags are pinned to
/// digests by the caller before the operation is queued.
public struct DeployStaging: GitOperation {
    public var images: [String: String]
    /// service → the tag each pinned image was resolved from.
    public var imageTags: [String: String]
    public var requestedBy: String
    /// The project whose staging this renders (its catalog is read at the tip).
    public var project: String
    /// The commit that last changed staging as the caller saw it (`ExpectedCommit`).
    public var expected: String?

    public init(images: [String: String], imageTags: [String: String] = [:], requestedBy: String = defaultRequester,
                project: String = ProjectName.builtIn, expected: String? = nil) {
        self.images = images; self.imageTags = imageTags; self.requestedBy = requestedBy; self.project = project
        self.expected = expected
    }

    public var name: String { "deploy-staging" }

    var scope: EnvironmentScope { EnvironmentScope(.staging, project: project) }

    /// Checks everything that does not depend on the tree, so bad input is refused before the
    /// registry is asked or anything is queued; `catalog` is the project's.
    public func validate(_ catalog: Catalog) throws {
        try ProjectName.validate(project)
        guard !images.isEmpty else { throw InputError(code: "missing_images", field: "images", rule: "must name at least one service") }
        try validateRequestedImages(images, catalog: catalog, field: "images")
        try validateRequester(requestedBy)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<EnvironmentUpdate> {
        try ExpectedCommit.check(expected, scope: scope, tree: tree)
        let catalog = try ProjectCatalogs.catalog(project, tree: tree, builtIn: context.catalog)
        let running = RunningImages(files: try tree.files(under: scope.directory))
        var tags = running.tags.filter { images[$0.key] == nil }
        for service in images.keys { tags[service] = imageTags[service] }
        let rendered = try Renderer(catalog: catalog).staging(images: images, fallbackImages: running.images, imageTags: tags)
        let result = RunningImages(rendered: rendered)
        let changes = ImageChange.between(running.images, result.images)
        let requested = images.keys.sorted().map { shortImage(service: $0, reference: result.images[$0] ?? images[$0]!) }
        let message = CommitMessage(
            subject: "deploy(\(scope)): \(requested.joined(separator: ", "))",
            trailers: environmentTrailers(operation: name, project: project, requestedBy: requestedBy, images: result.images, changes: changes))
        return OperationPlan(
            changes: try tree.syncChanges(directory: scope.directory, to: rendered.files),
            message: message,
            answer: EnvironmentUpdate(scope: scope, images: result.images, tags: result.tags, changes: changes))
    }
}

/// Every named service is in the catalog and every reference parses.
func validateRequestedImages(_ images: [String: String], catalog: Catalog, field: String) throws {
    for (service, text) in images.sorted(by: { $0.key < $1.key }) {
        guard catalog.service(named: service) != nil else {
            throw InputError(code: "unknown_service", field: "\(field).\(service)",
                             rule: "unknown service; the catalog has \(catalog.services.map(\.name).joined(separator: ", "))", kind: .unprocessable)
        }
        do { _ = try ImageReference(parsing: text) } catch {
            throw InputError(code: "invalid_image", field: "\(field).\(service)", rule: error.description, kind: .unprocessable)
        }
    }
}

extension ManifestorConfig {
    /// The client that pins tags to digests, when the config names a registry.
    public func makeRegistryClient() -> RegistryClient? {
        guard let registry, let url = URL(string: registry.url) else { return nil }
        return RegistryClient(baseURL: url, username: registry.username, password: registryPassword, caFile: registry.caFile)
    }
}

/// `expected` on the writes to staging and production: the commit that last changed the
/// environment as the caller saw it. Checked on the tip the write is planned on, so a write
/// racing another one is refused (409) rather than applied to a state nobody looked at.
public enum ExpectedCommit {
    /// 7 to 40 hex digits, lower-cased; nil when not given.
    public static func parse(_ text: String?) throws -> String? {
        guard let text else { return nil }
        guard let id = commitPrefix(text) else {
            throw InputError(code: "invalid_expected", field: "expected",
                             rule: "must be the commit that last changed the environment (7 to 40 hex digits), not \(YAMLEmitter.quoted(CommitMessage.oneLine(text)))")
        }
        return id
    }

    /// 409 `conflict`, naming the current commit, unless `expected` is the commit that last changed `scope`.
    static func check(_ expected: String?, scope: EnvironmentScope, tree: TreeSnapshot) throws {
        guard let expected else { return }
        let last = try tree.commitsChanging(scope.directory, limit: 1).first
        guard let last, last.id.hex.hasPrefix(expected) else {
            let current = last.map { "\($0.id.hex) (\(CommitMessage.oneLine($0.subject)))" } ?? "no commit"
            throw ConflictError(code: "conflict",
                                message: "expected: \(scope)/ was last changed by \(current), not \(expected); read it again and retry")
        }
    }
}
