import CLibGit2
import Foundation
import GitWire

/// Applies removals and blob upserts to a tree by editing raw tree objects: only the trees on the
/// edited paths are read and written, and an unchanged entry is copied as bytes.
///
/// Same result as `git_tree_create_updated` (a tree left empty disappears from its parent, the
/// root stays, possibly empty), without its cost on a wide tree: libgit2 turns every entry of
/// each tree on the path into a tree-builder entry, sorts them all and formats them again,
/// which at 10,000 previews is most of a commit's CPU time (`preview/` has an entry per preview).
/// Callers pass conflict-free edits (`TreeUpdatePlan`): no path below another, removals of
/// existing paths.
struct TreeEditor {
    enum Action {
        case remove
        case upsertBlob(ObjectID)
    }

    struct Edit {
        /// Path components still to walk, as bytes.
        var components: ArraySlice<[UInt8]>
        var action: Action
    }

    let repository: Repository
    let odb: OpaquePointer
    let operation: String

    /// The new root tree.
    func apply(root: git_oid, edits: [(path: String, action: Action)]) throws -> git_oid {
        let prepared = edits.map { edit in
            Edit(components: edit.path.split(separator: "/").map { Array($0.utf8) }[...], action: edit.action)
        }
        return try edit(tree: ObjectID(root), edits: prepared)?.oid ?? write(Data())
    }

    /// The edited version of `tree` (nil: no tree there yet), or nil when it ends up empty.
    private func edit(tree: ObjectID?, edits: [Edit]) throws -> ObjectID? {
        let raw = try tree.map { try repository.rawTree($0, odb: odb, operation: operation) } ?? Data()
        let entries = try tree.map { try repository.rawTrees.entries($0, raw, operation: operation) } ?? []

        // The edits of this level, by entry name, in the order given.
        var names: [[UInt8]] = []
        var byName: [[UInt8]: [Edit]] = [:]
        for var edit in edits {
            guard let first = edit.components.first else { continue }
            edit.components = edit.components.dropFirst()
            if byName[first] == nil { names.append(first) }
            byName[first, default: []].append(edit)
        }

        // Existing entries of the edited names.
        var found: [[UInt8]: Int] = [:]
        for name in names {
            found[name] = TreeEntries.index(of: name, in: raw, entries: entries)
        }
        var replaced = Set<Int>()
        var added: [(name: [UInt8], mode: String, isTree: Bool, id: ObjectID)] = []
        for name in names {
            let group = byName[name]!
            let existing = found[name].map { entries[$0] }
            if let last = group.last(where: { $0.components.isEmpty }) {
                // The path itself (the plan sends one edit per path).
                if let index = found[name] { replaced.insert(index) }
                if case .upsertBlob(let id) = last.action {
                    added.append((name, "100644", false, id))
                }
                continue
            }
            let subtree = existing.flatMap { $0.kind == .tree ? $0.id : nil }
            if subtree == nil, group.allSatisfy({ if case .remove = $0.action { true } else { false } }) {
                continue  // nothing to remove below a file or a missing path
            }
            if let index = found[name] { replaced.insert(index) }
            if let edited = try edit(tree: subtree, edits: group) {
                added.append((name, "40000", true, edited))
            }
        }

        // Unchanged entries (already in git's order) merged with the new ones (sorted here).
        added.sort { x, y in
            x.name.withUnsafeBytes { xb in y.name.withUnsafeBytes { yb in TreeEntries.order(xb, x.isTree, yb, y.isTree) < 0 } }
        }
        var out = Data()
        out.reserveCapacity(raw.count + added.reduce(0) { $0 + $1.name.count + 28 })
        raw.withUnsafeBytes { bytes in
            // Unchanged entries are copied in runs: a new entry or a replaced one ends a run.
            var next = 0
            var runStart = 0
            func flush(upTo end: Int) {
                if end > runStart { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<end])) }
            }
            func nextSortsBefore(_ entry: TreeEntries.Entry) -> Bool {
                guard next < added.count else { return false }
                let item = added[next]
                let name = UnsafeRawBufferPointer(rebasing: bytes[entry.nameStart..<entry.nameEnd])
                return item.name.withUnsafeBytes { TreeEntries.order($0, item.isTree, name, entry.kind == .tree) < 0 }
            }
            func appendAdded(before entry: TreeEntries.Entry?) {
                while next < added.count {
                    let item = added[next]
                    if let entry, !nextSortsBefore(entry) { return }
                    out.append(contentsOf: item.mode.utf8)
                    out.append(0x20)
                    out.append(contentsOf: item.name)
                    out.append(0)
                    out.append(contentsOf: item.id.bytes)
                    next += 1
                }
            }
            var isReplaced = [Bool](repeating: false, count: entries.count)
            for index in replaced { isReplaced[index] = true }
            var start = 0
            for (index, entry) in entries.enumerated() {
                let end = entry.nameEnd + 21
                if isReplaced[index] {
                    flush(upTo: start)
                    runStart = end
                } else if nextSortsBefore(entry) {
                    flush(upTo: start)
                    runStart = start
                    appendAdded(before: entry)
                }
                start = end
            }
            flush(upTo: raw.count)
            appendAdded(before: nil)
        }
        if out.isEmpty { return nil }
        if out == raw, let tree { return tree }
        let id = try ObjectID(write(out))
        if let tree {
            // What the push needs to send this tree as a delta against `tree`, without reading either.
            let changes = added.map { item in
                let before = found[item.name].map { entries[$0] }
                return TreeEdit.Change(id: item.id, isTree: item.isTree, before: before?.id,
                                       beforeTree: before.flatMap { $0.kind == .tree ? $0.id : nil })
            }
            repository.treeEdits.insert(id, TreeEdit(base: tree, delta: Delta.make(from: raw, to: out), changes: changes))
        }
        return id
    }

    private func write(_ raw: Data) throws -> git_oid {
        var oid = git_oid()
        try gitCall(operation) {
            raw.withUnsafeBytes { git_odb_write(&oid, odb, $0.baseAddress, $0.count, GIT_OBJECT_TREE) }
        }
        repository.rememberRawTree(ObjectID(oid), raw)
        return oid
    }
}

/// The latest `TreeEdit`s by the id of the tree written, at most `capacity` (oldest out first).
final class TreeEditLog {
    private var edits: [ObjectID: TreeEdit] = [:]
    private var order: [ObjectID] = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    subscript(id: ObjectID) -> TreeEdit? { edits[id] }

    func insert(_ id: ObjectID, _ edit: TreeEdit) {
        if edits.updateValue(edit, forKey: id) == nil { order.append(id) }
        if order.count > capacity {
            let drop = order.count - capacity / 2
            order.prefix(drop).forEach { edits.removeValue(forKey: $0) }
            order.removeFirst(drop)
        }
    }
}

/// Wide raw tree objects the committer wrote or read lately, by id, within a byte budget (oldest
/// out first): a batch's next commit edits the `preview/` tree the previous one wrote, and reads
/// look paths up in it. Trees under `minimumSize` are cheap to read again and are not kept, so
/// that thousands of small ones (a sweep over every preview) do not push the wide ones out. The
/// budget counts raw bytes; a kept tree's parsed entries (about as large) go with it.
final class RawTreeMemo {
    private var trees: [ObjectID: Data] = [:]
    /// The parsed entries of kept trees that were searched or edited.
    private var parsed: [ObjectID: [TreeEntries.Entry]] = [:]
    private var order: [ObjectID] = []
    private var bytes = 0
    let budget: Int
    let minimumSize = 16 << 10

    init(budget: Int) { self.budget = budget }

    subscript(id: ObjectID) -> Data? { trees[id] }

    func insert(_ id: ObjectID, _ raw: Data) {
        guard raw.count >= minimumSize, raw.count <= budget, trees[id] == nil else { return }
        trees[id] = raw
        order.append(id)
        bytes += raw.count
        var drop = 0
        while bytes > budget, drop < order.count {
            if let old = trees.removeValue(forKey: order[drop]) { bytes -= old.count }
            parsed.removeValue(forKey: order[drop])
            drop += 1
        }
        if drop > 0 { order.removeFirst(drop) }
    }

    /// The entries of `raw` (tree `id`), parsed once and kept with the tree when it is kept.
    func entries(_ id: ObjectID, _ raw: Data, operation: String) throws -> [TreeEntries.Entry] {
        if let known = parsed[id] { return known }
        let entries = try TreeEntries.parse(raw, operation: operation)
        if trees[id] != nil { parsed[id] = entries }
        return entries
    }
}

extension Repository {
    /// The raw bytes of tree `id`, from the memo or the object database.
    func rawTree(_ id: ObjectID, odb: OpaquePointer, operation: String) throws -> Data {
        if let raw = rawTrees[id] { return raw }
        var object: OpaquePointer?
        var oid = id.oid
        try gitCall(operation) { git_odb_read(&object, odb, &oid) }
        defer { git_odb_object_free(object) }
        guard git_odb_object_type(object) == GIT_OBJECT_TREE else {
            throw GitError(kind: .other, message: "object \(ObjectID(oid)) is not a tree", operation: operation)
        }
        let size = git_odb_object_size(object)
        let raw = git_odb_object_data(object).map { Data(bytes: $0, count: size) } ?? Data()
        rawTrees.insert(id, raw)
        return raw
    }

    func rememberRawTree(_ id: ObjectID, _ raw: Data) {
        rawTrees.insert(id, raw)
    }
}
