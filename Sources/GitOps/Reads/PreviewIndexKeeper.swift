import Foundation
import GitStore
import GitWire
import Templates

/// Keeps the preview index of the tip reads are answered at. It is brought to a new tip on
/// demand, by the first read that wants it there: when the way from the index's tip is made of
/// batches this process landed, only the previews they changed are read again; otherwise (a
/// fetch brought another writer's commits, a force-push, a cold start) the tip's `preview/` tree
/// is compared with the index by directory tree id and only what differs is read. Nothing of
/// this runs on the git thread. One serial queue owns the index, so it is updated in place and
/// answers are computed on it without copying.
final class PreviewIndexKeeper: @unchecked Sendable {
    private let queue: DispatchQueue
    private let readers: ReaderPool
    private let tips: TipRecord
    /// The index and its tip; touched on `queue` only.
    private var stored: (tip: ObjectID?, index: PreviewIndex)?
    /// Encoded answers at the stored tip, by what was asked: pollers asking the same page at
    /// the same tip share one encoding. Emptied whenever the tip moves; touched on `queue` only.
    private var encoded: [EncodedKey: Data] = [:]

    struct EncodedKey: Hashable {
        var query: PreviewQuery
        var domain: String
    }

    init(readers: ReaderPool, tips: TipRecord, label: String) {
        self.readers = readers
        self.tips = tips
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    /// Runs `body` with the index at `tip` (on the index's queue: keep it short).
    func with<T: Sendable>(at tip: ObjectID?, _ body: @escaping @Sendable (PreviewIndex) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.async { [self] in
                continuation.resume(with: Result { try body(try bring(to: tip)) })
            }
        }
    }

    /// The encoded answer `make` gives for `key` at `tip`, made once per tip.
    func encoded(at tip: ObjectID?, key: EncodedKey, _ make: @escaping @Sendable (PreviewIndex) throws -> Data) async throws -> Data {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Data, Error>) in
            queue.async { [self] in
                continuation.resume(with: Result {
                    let index = try bring(to: tip)
                    if let known = encoded[key] { return known }
                    let data = try make(index)
                    if encoded.count >= 64 { encoded.removeAll(keepingCapacity: true) }
                    encoded[key] = data
                    return data
                })
            }
        }
    }

    /// The index at `tip`, updated from the stored one.
    private func bring(to tip: ObjectID?) throws -> PreviewIndex {
        if let stored, stored.tip == tip { return stored.index }
        encoded.removeAll(keepingCapacity: true)
        let old = stored
        // Taken out while it is changed, so that it is changed in place; a failure leaves no
        // index (the next read starts over) rather than one labelled with the wrong tip.
        stored = nil
        var index = old?.index ?? PreviewIndex()
        if let tip {
            try readers.withInstance { repository in
                let tree = TreeSnapshot(repository: repository, commit: tip)
                if let old, let changed = tips.changes(from: old.tip, to: tip) {
                    for taskID in changed {
                        let id = try repository.treeID(commit: tip, path: TaskID.directory(taskID))
                        index.set(taskID, try id.flatMap { try IndexedPreview.read(taskID: taskID, id: $0, tree: tree) })
                    }
                } else {
                    try Self.compare(&index, with: repository.subdirectories(commit: tip, path: "preview", prefix: "task-"), tree: tree)
                }
            }
        } else {
            index = PreviewIndex()
        }
        stored = (tip, index)
        return index
    }

    /// Makes `index` hold the previews of `directories` (name → tree id of `preview/task-*`),
    /// reading only those whose tree differs from the indexed one.
    private static func compare(_ index: inout PreviewIndex, with directories: [String: ObjectID], tree: TreeSnapshot) throws {
        for (name, id) in directories {
            let taskID = String(name.dropFirst("task-".count))
            if index[taskID]?.tree == id { continue }
            index.set(taskID, try IndexedPreview.read(taskID: taskID, id: id, tree: tree))
        }
        for taskID in index.order where directories["task-" + taskID] == nil {
            index.set(taskID, nil)
        }
    }
}
