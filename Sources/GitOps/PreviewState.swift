import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// A preview as the repository describes it, and as the API answers it.
public struct PreviewState: Sendable, Codable, Equatable {
    public var taskId: String
    public var namespace: String
    public var url: String
    public var path: String
    public var expiresAt: String?
    public var images: [String: String]
    /// The project whose services the preview runs.
    public var project: String

    public init(taskID: String, domain: String, expiresAt: Date?, images: [String: String], project: String = ProjectName.builtIn) {
        taskId = taskID
        self.project = project
        namespace = TaskID.namespace(taskID)
        url = "https://task-\(taskID).\(domain)"
        path = TaskID.directory(taskID)
        self.expiresAt = expiresAt.map(RFC3339.format)
        self.images = images
    }
}

/// Reads what Manifestor rendered back from the tree. The files are canonical YAML written by
/// Manifestor itself, so a line scan is exact and far cheaper than a YAML parse per file.
enum ManifestReader {
    /// The value of the first `key: value` line (indentation and quotes dropped), if any.
    static func value(of key: String, in yaml: String) -> String? {
        let prefix = key + ":"
        for line in yaml.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(prefix) {
                return trimmed.dropFirst(prefix.count).trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
            }
        }
        return nil
    }

    /// The `aiworker.dev/expires-at` annotation of a rendered Namespace.
    static func expiresAt(namespaceYAML: String) -> Date? {
        value(of: Renderer.expiresAtAnnotation, in: namespaceYAML).flatMap(RFC3339.parse)
    }

    /// The first container image of a rendered Deployment.
    static func image(deploymentYAML: String) -> String? {
        value(of: "image", in: deploymentYAML)
    }

    /// The `aiworker.dev/image-tag` annotation of a rendered Deployment, if any.
    static func imageTag(deploymentYAML: String) -> String? {
        value(of: Renderer.imageTagAnnotation, in: deploymentYAML)
    }

    /// service → what `read` finds in each `deployment-<service>.yaml` of a directory's files.
    private static func perDeployment(_ files: [String: Data], _ read: (String) -> String?) -> [String: String] {
        var out: [String: String] = [:]
        for (name, data) in files where name.hasPrefix("deployment-") && name.hasSuffix(".yaml") && !name.contains("/") {
            let service = String(name.dropFirst("deployment-".count).dropLast(".yaml".count))
            if let found = read(String(decoding: data, as: UTF8.self)) { out[service] = found }
        }
        return out
    }

    /// service → image for every `deployment-<service>.yaml` in a directory's files.
    static func images(files: [String: Data]) -> [String: String] {
        perDeployment(files, image(deploymentYAML:))
    }

    /// service → image tag annotation for a directory's files.
    static func imageTags(files: [String: Data]) -> [String: String] {
        perDeployment(files, imageTag(deploymentYAML:))
    }

    /// The preview of one task at a tree, or nil when it has no directory.
    static func preview(taskID: String, tree: TreeSnapshot, domain: String) throws -> PreviewState? {
        let files = try tree.files(under: TaskID.directory(taskID))
        guard !files.isEmpty else { return nil }
        let namespaceFile = "namespace-\(TaskID.namespace(taskID)).yaml"
        let namespace = files[namespaceFile].map { String(decoding: $0, as: UTF8.self) }
        let expiry = namespace.flatMap(expiresAt(namespaceYAML:))
        // Previews rendered before projects existed carry no label: they are AiWorker's.
        let project = namespace.flatMap { value(of: Renderer.projectLabel, in: $0) } ?? ProjectName.builtIn
        return PreviewState(taskID: taskID, domain: domain, expiresAt: expiry, images: images(files: files), project: project)
    }

    /// Task ids of every `preview/task-<id>` directory.
    static func previewTaskIDs(tree: TreeSnapshot) throws -> [String] {
        try tree.entries("preview").filter { $0.isTree && $0.name.hasPrefix("task-") }.map { String($0.name.dropFirst(5)) }
    }
}

/// The preview of one task at a tree, or nil.
public func previewState(taskID: String, tree: TreeSnapshot, domain: String) throws -> PreviewState? {
    try ManifestReader.preview(taskID: taskID, tree: tree, domain: domain)
}

/// Every preview at a tree, in task id order.
public func allPreviews(tree: TreeSnapshot, domain: String) throws -> [PreviewState] {
    try ManifestReader.previewTaskIDs(tree: tree).sorted().compactMap { try ManifestReader.preview(taskID: $0, tree: tree, domain: domain) }
}
