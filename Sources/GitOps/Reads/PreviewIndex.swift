import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// One preview as the index keeps it: what its answers need, less what is derived from the
/// task id and the domain (namespace, path, URL).
struct IndexedPreview: Sendable, Equatable {
    var taskID: String
    /// Its directory's tree id: two tips hold the same preview exactly when this is the same.
    var tree: ObjectID
    var expiresAt: Date?
    var images: [String: String]
    var project: String

    func state(domain: String) -> PreviewState {
        PreviewState(taskID: taskID, domain: domain, expiresAt: expiresAt, images: images, project: project)
    }

    /// The preview in `directory` (tree `id`, the directory of task `taskID`) at `tree`: its
    /// Namespace and Deployment files only, the rest is not read.
    static func read(taskID: String, id: ObjectID, tree: TreeSnapshot) throws -> IndexedPreview? {
        let entries = try tree.entries(TaskID.directory(taskID))
        guard !entries.isEmpty else { return nil }
        let namespaceFile = "namespace-\(TaskID.namespace(taskID)).yaml"
        var files: [String: Data] = [:]
        for entry in entries where !entry.isTree && (entry.name == namespaceFile || entry.name.hasPrefix("deployment-")) {
            files[entry.name] = try tree.blob(id: entry.id)
        }
        let namespace = files[namespaceFile].map { String(decoding: $0, as: UTF8.self) }
        return IndexedPreview(
            taskID: taskID, tree: id, expiresAt: namespace.flatMap(ManifestReader.expiresAt(namespaceYAML:)),
            images: ManifestReader.images(files: files),
            // Previews rendered before projects existed carry no label: they are AiWorker's.
            project: namespace.flatMap { ManifestReader.value(of: Renderer.projectLabel, in: $0) } ?? ProjectName.builtIn)
    }
}

/// Which previews a list wants.
public struct PreviewFilter: Sendable, Hashable {
    public var project: String?
    /// Only previews that expire before this time (previews without an expiry never match).
    public var expiringBefore: Date?

    public init(project: String? = nil, expiringBefore: Date? = nil) {
        self.project = project; self.expiringBefore = expiringBefore
    }

    func matches(_ preview: IndexedPreview) -> Bool {
        if let project, preview.project != project { return false }
        if let expiringBefore {
            guard let expiry = preview.expiresAt, expiry < expiringBefore else { return false }
        }
        return true
    }
}

/// Every preview at one tip, by task id and in task id order: what `GET /api/previews` and
/// `GET /api/tasks/{id}/preview` answer from, kept up to date from the previews each commit
/// changed instead of being read again from the tree.
///
/// Memory: one `IndexedPreview` (task id, tree id, expiry, images, project: about 400 bytes
/// with one or two images) and one sorted key per preview; 10,000 previews hold about 5 MB.
struct PreviewIndex: Sendable {
    private(set) var entries: [String: IndexedPreview] = [:]
    /// The task ids, sorted (the order lists and their `continue` tokens follow).
    private(set) var order: [String] = []

    var count: Int { order.count }

    subscript(taskID: String) -> IndexedPreview? { entries[taskID] }

    /// Puts `preview` in as `taskID`'s, or takes `taskID` out when it is nil.
    mutating func set(_ taskID: String, _ preview: IndexedPreview?) {
        let position = insertionPoint(taskID)
        let present = position < order.count && order[position] == taskID
        if let preview {
            entries[taskID] = preview
            if !present { order.insert(taskID, at: position) }
        } else if present {
            entries.removeValue(forKey: taskID)
            order.remove(at: position)
        }
    }

    /// Up to `limit` previews matching `filter` with task ids after `after`, in order; `next`
    /// is the last one's task id when more may follow. `total` counts every match.
    func page(after: String?, limit: Int, filter: PreviewFilter) -> (items: [IndexedPreview], next: String?, total: Int) {
        var start = 0
        if let after {
            start = insertionPoint(after)
            if start < order.count && order[start] == after { start += 1 }
        }
        let unfiltered = filter == PreviewFilter()
        var items: [IndexedPreview] = []
        var index = start
        while index < order.count && items.count < limit {
            if let preview = entries[order[index]], filter.matches(preview) { items.append(preview) }
            index += 1
        }
        let more = unfiltered ? index < order.count : order[index...].contains { entries[$0].map(filter.matches) ?? false }
        let total = unfiltered ? order.count : entries.values.reduce(0) { $0 + (filter.matches($1) ? 1 : 0) }
        return (items, more ? items.last?.taskID : nil, total)
    }

    /// The first position whose task id is not below `taskID` (binary search of `order`).
    private func insertionPoint(_ taskID: String) -> Int {
        var low = 0, high = order.count
        while low < high {
            let middle = (low + high) / 2
            if order[middle] < taskID { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
