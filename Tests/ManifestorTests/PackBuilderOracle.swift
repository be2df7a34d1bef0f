import CLibGit2
import Foundation
@testable import GitStore
@testable import GitWire

/// An oracle for `ThinPackWriter`: a pack of exactly the objects a line of commits created, built
/// by libgit2's `git_packbuilder` (the product's writer is 2-3 times cheaper and sends changed
/// trees as deltas against the remote's versions). The same push must land either way.
///
/// libgit2's `git_remote_push` hides everything reachable from the remote tip by walking that
/// tip's whole tree before packing, so a push costs as much as the repository is big. Here the
/// commits between the remote tip (`base`) and `tip` are walked one by one, and each commit's
/// tree is compared with its parent's tree: a tree entry whose id is the same as in the parent
/// is skipped without being read, so only the changed trees and the new blobs (and the commits)
/// are read and packed. The remote has everything else, since it has `base`.
extension Repository {
    /// The pack of the objects the commits `base..tip` created, or nil when that history is not a
    /// single line of at most `maxCommits` one-parent commits descending from `base` (the caller
    /// then pushes another way).
    func packNewObjects(tip: ObjectID, base: ObjectID, maxCommits: Int = 10_000) throws -> NewObjectsPack? {
        let operation = "push"
        guard let line = try commitLine(tip: tip, base: base, maxCommits: maxCommits, operation: operation) else { return nil }

        var builder: OpaquePointer?
        try gitCall(operation) { git_packbuilder_new(&builder, pointer) }
        defer { git_packbuilder_free(builder) }
        let trees = TreeCache(repository: self, operation: operation)
        defer { trees.free() }
        // Oldest first, so that a later commit finds its parent's new trees in the cache.
        for entry in line.reversed() {
            var commitID = entry.commit.oid
            try gitCall(operation) { git_packbuilder_insert(builder, &commitID, nil) }
            try insertChanges(builder!, tree: entry.tree.oid, parentTree: entry.parentTree.oid, path: "", trees: trees, operation: operation)
        }
        let count = git_packbuilder_object_count(builder)
        var buffer = git_buf()
        try gitCall(operation) { git_packbuilder_write_buf(&buffer, builder) }
        defer { git_buf_dispose(&buffer) }
        let data = buffer.ptr.map { Data(bytes: $0, count: buffer.size) } ?? Data()
        return NewObjectsPack(data: data, objectCount: count, commitCount: line.count)
    }

    /// Inserts `tree` and, recursively, every entry of it that `parentTree` (the same path in the
    /// parent commit, if any) does not hold with the same id.
    private func insertChanges(
        _ builder: OpaquePointer, tree treeID: git_oid, parentTree parentID: git_oid?, path: String, trees: TreeCache,
        operation: String
    ) throws {
        if let parentID, sameID(treeID, parentID) { return }
        var id = treeID
        try gitCall(operation) { git_packbuilder_insert(builder, &id, path.isEmpty ? nil : path) }
        let tree = try trees.tree(treeID)
        let parent = try parentID.map { try trees.tree($0) }
        let count = git_tree_entrycount(tree)
        let parentCount = parent.map { git_tree_entrycount($0) } ?? 0
        // Both trees are sorted the same way (git's order), so one merge walk pairs equal names.
        var j = 0
        for i in 0..<count {
            guard let entry = git_tree_entry_byindex(tree, i) else { continue }
            var old: OpaquePointer?
            if let parent {
                while j < parentCount, let candidate = git_tree_entry_byindex(parent, j) {
                    let order = git_tree_entry_cmp(candidate, entry)
                    if order < 0 { j += 1; continue }
                    if order == 0 { old = candidate; j += 1 }
                    break
                }
            }
            let entryID = git_tree_entry_id(entry)!
            if let old, git_oid_equal(git_tree_entry_id(old), entryID) == 1 { continue }
            let name = String(cString: git_tree_entry_name(entry))
            let childPath = path.isEmpty ? name : "\(path)/\(name)"
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                let oldTree = old.flatMap { git_tree_entry_type($0) == GIT_OBJECT_TREE ? git_tree_entry_id($0).pointee : nil }
                try insertChanges(builder, tree: entryID.pointee, parentTree: oldTree, path: childPath, trees: trees,
                                  operation: operation)
            case GIT_OBJECT_BLOB:
                var blobID = entryID.pointee
                try gitCall(operation) { git_packbuilder_insert(builder, &blobID, childPath) }
            default:
                continue  // a gitlink names a commit of another repository: nothing to send
            }
        }
    }
}

private func sameID(_ a: git_oid, _ b: git_oid) -> Bool {
    var a = a
    var b = b
    return git_oid_equal(&a, &b) == 1
}

/// Trees looked up during one pack build, freed together: a commit's new trees are the next
/// commit's parent trees, and big trees (a `preview/` of 10,000 entries) are not kept by
/// libgit2's object cache.
private final class TreeCache {
    private let repository: Repository
    private let operation: String
    private var trees: [Data: OpaquePointer] = [:]

    init(repository: Repository, operation: String) {
        self.repository = repository
        self.operation = operation
    }

    func tree(_ id: git_oid) throws -> OpaquePointer {
        let key = withUnsafeBytes(of: id.id) { Data($0) }
        if let tree = trees[key] { return tree }
        var oid = id
        var tree: OpaquePointer?
        try gitCall(operation) { git_tree_lookup(&tree, repository.pointer, &oid) }
        guard let tree else { throw GitError(kind: .other, message: "libgit2 returned no tree", operation: operation) }
        trees[key] = tree
        return tree
    }

    func free() {
        trees.values.forEach { git_tree_free($0) }
        trees = [:]
    }
}
