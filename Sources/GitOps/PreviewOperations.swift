import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// Who asked, for the `Requested-By:` trailer.
public let defaultRequester = "manifestor"

/// Renders `preview/task-<id>/` with the requested images of the task's project; the other
/// services run what the project's staging runs (`staging/<project>/`), else their default. A re-deploy keeps the current expiry unless the new one moves it by at least
/// an hour, so that a retried request is a true no-op.
public struct DeployPreview: GitOperation {
    public var taskID: String
    public var images: [String: String]
    public var ttl: String?
    public var requestedBy: String
    public var imageTags: [String: String]
    /// The project whose services the preview runs (its catalog is read at the tip).
    public var project: String

    public init(taskID: String, images: [String: String], ttl: String? = nil, requestedBy: String = defaultRequester,
                imageTags: [String: String] = [:], project: String = ProjectName.builtIn) {
        self.taskID = taskID; self.images = images; self.ttl = ttl; self.requestedBy = requestedBy; self.imageTags = imageTags
        self.project = project
    }

    public var name: String { "deploy-preview" }

    /// Checks everything that does not depend on the tree, so bad input is refused before
    /// queuing; `catalog` is the project's (`ProjectCatalogs.read`).
    public func validate(_ catalog: Catalog) throws {
        try TaskID.validate(taskID)
        try ProjectName.validate(project)
        guard !images.isEmpty else { throw InputError(code: "missing_images", field: "images", rule: "must name at least one service") }
        try Renderer(catalog: catalog).validatePreview(taskID: taskID, images: images, ttl: ttl)
        try validateRequester(requestedBy)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<PreviewState> {
        let renderer = Renderer(catalog: try ProjectCatalogs.catalog(project, tree: tree, builtIn: context.catalog))
        let staging = ManifestReader.images(files: try tree.files(under: EnvironmentScope(.staging, project: project).directory))
        let directory = TaskID.directory(taskID)
        // The directory is read once: for the current expiry, and for what the commit changes.
        let existing = try tree.files(under: directory)
        var expiresAt = try renderer.previewExpiry(ttl: ttl, now: context.now)
        if let current = existing["namespace-\(TaskID.namespace(taskID)).yaml"]
            .flatMap({ ManifestReader.expiresAt(namespaceYAML: String(decoding: $0, as: UTF8.self)) }),
            abs(expiresAt.timeIntervalSince(current)) < 3600 {
            expiresAt = current
        }
        let resolved = try renderer.resolveImages(images, fallback: staging, requireDigest: false)
        let rendered = try renderer.preview(taskID: taskID, images: resolved, expiresAt: expiresAt, imageTags: imageTags)
        let changes = TreeSnapshot.syncChanges(directory: directory, from: existing, to: rendered.files)
        let requestedImages = images.keys.sorted().map { shortImage(service: $0, reference: rendered.images[$0] ?? images[$0]!) }
        let message = CommitMessage(
            subject: "preview(task-\(taskID)): deploy \(requestedImages.joined(separator: ", "))",
            trailers: [("Task-Id", taskID), ("Project", project), ("Requested-By", requestedBy), ("Operation", name)]
                + rendered.images.keys.sorted().map { ("Image", "\($0)=\(rendered.images[$0]!)") }
                + [("Expires-At", rendered.expiresAt.map(RFC3339.format) ?? "")]
        )
        let answer = PreviewState(taskID: taskID, domain: context.previewDomain, expiresAt: rendered.expiresAt, images: rendered.images,
                                  project: project)
        return OperationPlan(changes: changes, message: message, answer: answer)
    }
}

/// Removes `preview/task-<id>/`; Argo CD then deletes the Application and its namespace.
public struct DeletePreview: GitOperation {
    public var taskID: String
    public var requestedBy: String

    public init(taskID: String, requestedBy: String = defaultRequester) {
        self.taskID = taskID; self.requestedBy = requestedBy
    }

    public var name: String { "delete-preview" }

    public func validate() throws {
        try TaskID.validate(taskID)
        try validateRequester(requestedBy)
    }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<PreviewState> {
        guard let state = try ManifestReader.preview(taskID: taskID, tree: tree, domain: context.previewDomain) else {
            throw NotFoundError(code: "preview_not_found", message: "no preview for task \(taskID)")
        }
        return OperationPlan(
            changes: [.delete(path: TaskID.directory(taskID))],
            message: CommitMessage(subject: "preview(task-\(taskID)): delete",
                                   trailers: [("Task-Id", taskID), ("Requested-By", requestedBy), ("Operation", name)]),
            answer: state)
    }
}

/// Seeds the branch from `gitops-skeleton/`; a second run changes nothing.
public struct SeedRepository: GitOperation {
    public var files: [String: Data]
    public var requestedBy: String

    public init(skeleton: URL, requestedBy: String = defaultRequester) throws {
        var files: [String: Data] = [:]
        let fm = FileManager.default
        let skeleton = skeleton.resolvingSymlinksInPath()
        guard let walker = fm.enumerator(at: skeleton, includingPropertiesForKeys: [.isRegularFileKey]) else {
            throw InputError(code: "invalid_skeleton", field: skeleton.path, rule: "folder not found")
        }
        let base = skeleton.standardizedFileURL.path
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
            let relative = String(url.standardizedFileURL.path.dropFirst(base.count + 1))
            files[relative] = fm.contents(atPath: url.path)
        }
        guard !files.isEmpty else { throw InputError(code: "invalid_skeleton", field: skeleton.path, rule: "must not be empty") }
        self.files = files
        self.requestedBy = requestedBy
    }

    public var name: String { "init" }

    public func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<Int> {
        var changes: [TreeChange] = []
        for (path, data) in files.sorted(by: { $0.key < $1.key }) where try tree.blob(path) != data {
            changes.append(.upsert(path: path, content: data))
        }
        return OperationPlan(changes: changes,
                             message: CommitMessage(subject: "init: seed the gitops repository layout",
                                                    trailers: [("Requested-By", requestedBy), ("Operation", name)]),
                             answer: files.count)
    }
}

func validateRequester(_ requester: String) throws {
    // Counted in code points, as JSON Schema's maxLength counts them.
    guard !requester.isEmpty, requester.unicodeScalars.count <= 200,
          requester.unicodeScalars.allSatisfy({ $0.properties.generalCategory != .control && $0 != "\u{2028}" && $0 != "\u{2029}" }) else {
        throw InputError(code: "invalid_requester", field: "requestedBy", rule: "must be 1-200 characters on one line")
    }
}
