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

    public init(taskID: String, domain: String, expiresAt: Date?, images: [String: String]) {
        taskId = taskID
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
    /// The `aiworker.dev/expires-at` annotation of a rendered Namespace.
    static func expiresAt(namespaceYAML: String) -> Date? {
        for line in namespaceYAML.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(Renderer.expiresAtAnnotation + ":") {
                let value = trimmed.dropFirst(Renderer.expiresAtAnnotation.count + 1)
                    .trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
                return RFC3339.parse(value)
            }
        }
        return nil
    }

    /// The first container image of a rendered Deployment.
    static func image(deploymentYAML: String) -> String? {
        for line in deploymentYAML.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("image: ") {
                return trimmed.dropFirst("image: ".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
            }
        }
        return nil
    }

    /// The `aiworker.dev/image-tag` annotation of a rendered Deployment, if any.
    static func imageTag(deploymentYAML: String) -> String? {
        for line in deploymentYAML.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix(Renderer.imageTagAnnotation + ":") {
                return trimmed.dropFirst(Renderer.imageTagAnnotation.count + 1)
                    .trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            }
        }
        return nil
    }

    /// service → image for every `deployment-<service>.yaml` in a directory's files.
    static func images(files: [String: Data]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, data) in files where name.hasPrefix("deployment-") && name.hasSuffix(".yaml") && !name.contains("/") {
            let service = String(name.dropFirst("deployment-".count).dropLast(".yaml".count))
            if let image = image(deploymentYAML: String(decoding: data, as: UTF8.self)) { out[service] = image }
        }
        return out
    }

    /// service → image tag annotation for a directory's files.
    static func imageTags(files: [String: Data]) -> [String: String] {
        var out: [String: String] = [:]
        for (name, data) in files where name.hasPrefix("deployment-") && name.hasSuffix(".yaml") && !name.contains("/") {
            let service = String(name.dropFirst("deployment-".count).dropLast(".yaml".count))
            if let tag = imageTag(deploymentYAML: String(decoding: data, as: UTF8.self)) { out[service] = tag }
        }
        return out
    }

    /// The preview of one task at a tree, or nil when it has no directory.
    static func preview(taskID: String, tree: TreeSnapshot, domain: String) throws -> PreviewState? {
        let files = try tree.files(under: TaskID.directory(taskID))
        guard !files.isEmpty else { return nil }
        let namespaceFile = "namespace-\(TaskID.namespace(taskID)).yaml"
        let expiry = files[namespaceFile].flatMap { expiresAt(namespaceYAML: String(decoding: $0, as: UTF8.self)) }
        return PreviewState(taskID: taskID, domain: domain, expiresAt: expiry, images: images(files: files))
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
