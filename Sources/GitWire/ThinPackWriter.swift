import Foundation

/// What the thin-pack writer reads: the objects of the local repository.
package protocol PackObjectSource {
    /// The pack type (1 commit, 2 tree, 3 blob) and content of object `id`.
    func object(_ id: ObjectID) throws -> (type: UInt8, data: Data)
    /// The content of tree `id`.
    func rawTree(_ id: ObjectID) throws -> Data
    /// How tree `id` was edited from another tree, when the source wrote it so and still knows.
    func treeEdit(_ id: ObjectID) -> TreeEdit?
}

/// One commit of the line a push sends: its id, its tree and its (only) parent's tree.
package struct CommitLink: Sendable {
    package var commit: ObjectID
    package var tree: ObjectID
    package var parentTree: ObjectID

    package init(commit: ObjectID, tree: ObjectID, parentTree: ObjectID) {
        self.commit = commit; self.tree = tree; self.parentTree = parentTree
    }
}

/// A pack of the objects a line of commits created.
package struct NewObjectsPack: Sendable {
    /// The pack (`PACK` v2 ... SHA-1 trailer).
    package var data: Data
    package var objectCount: Int
    package var commitCount: Int

    package init(data: Data, objectCount: Int, commitCount: Int) {
        self.data = data; self.objectCount = objectCount; self.commitCount = commitCount
    }
}

/// A thin pack of exactly the objects a line of commits created, written directly.
///
/// Each commit's tree is compared with its parent's tree by a merge walk over the raw (sorted)
/// tree entries: an entry with the same name and id as in the parent is skipped without being
/// read. Changed trees are sent as deltas against the same path in the parent commit (a tree
/// that gained or changed one entry differs from its parent version by a few bytes, however
/// many entries it holds): the base is in the pack or, for the first commit, on the remote,
/// which receive-pack completes (`index-pack --fix-thin`, or `unpack-objects`). Objects are
/// stored in uncompressed deflate blocks: no compression work on either side, and the pushes
/// this is for are a few kilobytes per commit.
package enum ThinPackWriter {
    static let treeType: UInt8 = 2

    /// The pack of `line` (newest first, as a walk from the tip finds it).
    package static func pack(_ line: [CommitLink], from source: some PackObjectSource) throws -> NewObjectsPack {
        var state = State(source: source)
        // Oldest first: a commit's new trees are the bases of the next commit's trees.
        for link in line.reversed() {
            state.beginCommit()
            try state.addFull(link.commit)
            try state.addTree(link.tree, parent: link.parentTree)
        }
        return NewObjectsPack(data: state.finish(), objectCount: state.count, commitCount: line.count)
    }

    private struct State<Source: PackObjectSource> {
        let source: Source
        var body = Data()
        var count = 0
        var sent: Set<ObjectID> = []
        /// Raw trees of the previous commit (the parent's versions) and of the current one.
        var previousTrees: [ObjectID: Data] = [:]
        var currentTrees: [ObjectID: Data] = [:]

        init(source: Source) { self.source = source }

        mutating func beginCommit() {
            previousTrees = currentTrees
            currentTrees = [:]
        }

        mutating func tree(_ id: ObjectID) throws -> Data {
            if let data = currentTrees[id] ?? previousTrees[id] {
                currentTrees[id] = data
                return data
            }
            let data = try source.rawTree(id)
            currentTrees[id] = data
            return data
        }

        mutating func addFull(_ id: ObjectID) throws {
            guard sent.insert(id).inserted else { return }
            let (type, data) = try source.object(id)
            PackFormat.appendObject(to: &body, type: type, data: data)
            count += 1
        }

        /// Adds `id` (a tree) and everything below it that `parent` (the same path in the parent
        /// commit, if it was a tree there) does not hold with the same id.
        mutating func addTree(_ id: ObjectID, parent: ObjectID?) throws {
            if let parent, parent == id { return }
            // A tree the source edited from `parent`: its delta and changed entries are known.
            if let parent, let edit = source.treeEdit(id), edit.base == parent {
                guard sent.insert(id).inserted else { return }
                PackFormat.appendDelta(to: &body, base: edit.base, delta: edit.delta)
                count += 1
                for change in edit.changes where change.id != change.before {
                    if change.isTree {
                        try addTree(change.id, parent: change.beforeTree)
                    } else {
                        try addFull(change.id)
                    }
                }
                return
            }
            let raw = try tree(id)
            let parentRaw = try parent.map { try tree($0) }
            // A tree already in the pack brought everything below it that was new.
            guard sent.insert(id).inserted else { return }
            if let parent, let parentRaw, raw.count >= 512 {
                PackFormat.appendDelta(to: &body, base: parent, delta: Delta.make(from: parentRaw, to: raw))
            } else {
                PackFormat.appendObject(to: &body, type: treeType, data: raw)
            }
            count += 1
            let operation = "push"
            let entries = try TreeEntries.parse(raw, operation: operation)
            let old = try parentRaw.map { try TreeEntries.parse($0, operation: operation) } ?? []
            var j = 0
            for entry in entries {
                var match: TreeEntries.Entry?
                while j < old.count {
                    let order = TreeEntries.compare(old[j], entry, in: parentRaw!, raw)
                    if order < 0 { j += 1; continue }
                    if order == 0 { match = old[j]; j += 1 }
                    break
                }
                if let match, match.id == entry.id { continue }
                switch entry.kind {
                case .tree:
                    try addTree(entry.id, parent: match.flatMap { $0.kind == .tree ? $0.id : nil })
                case .blob:
                    try addFull(entry.id)
                case .gitlink:
                    continue  // a commit of another repository: nothing to send
                }
            }
        }

        func finish() -> Data {
            var pack = Data("PACK".utf8)
            PackFormat.appendUInt32(to: &pack, 2)
            PackFormat.appendUInt32(to: &pack, UInt32(count))
            pack.append(body)
            pack.append(contentsOf: SHA1.hash(pack))
            return pack
        }
    }
}
