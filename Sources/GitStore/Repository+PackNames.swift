import CLibGit2
import Foundation
import GitWire

/// Names for the objects of a pack, as `git pack-objects --revs` gives them: the path at which a
/// commit's tree holds each object. libgit2's pack builder orders its delta candidates by a hash
/// of the name (its last characters weigh most) before their size, so the versions of one kind
/// of file (every preview's `deployment.yaml`, every `preview/` tree) meet in its window of ten;
/// without names, objects are ordered by size alone and most blobs are stored whole.
extension Repository {
    /// The path of each of `ids` that a commit among `ids` reaches through trees among `ids`
    /// ("" for a root tree). Objects reached no such way (a tree of an older commit, an object
    /// no commit here names) are absent and packed without a name. Only reads; never throws:
    /// a name is a hint.
    func packNames(_ ids: Set<ObjectID>) -> [ObjectID: String] {
        var odb: OpaquePointer?
        guard git_repository_odb(&odb, pointer) == 0, let odb else { return [:] }
        defer { git_odb_free(odb) }
        var names: [ObjectID: String] = [:]
        for id in ids {
            var oid = id.oid
            var size = 0
            var type = GIT_OBJECT_INVALID
            guard git_odb_read_header(&size, &type, odb, &oid) == 0, type == GIT_OBJECT_COMMIT else { continue }
            var commit: OpaquePointer?
            guard git_commit_lookup(&commit, pointer, &oid) == 0, let commit else { continue }
            let tree = ObjectID(git_commit_tree_id(commit))
            git_commit_free(commit)
            guard ids.contains(tree), names[tree] == nil else { continue }
            names[tree] = ""
            nameEntries(of: tree, prefix: "", among: ids, into: &names)
        }
        return names
    }

    /// Names the entries of `tree` that are among `ids` and not named yet, then descends into
    /// those that are trees: a tree named before was walked before.
    private func nameEntries(of tree: ObjectID, prefix: String, among ids: Set<ObjectID>, into names: inout [ObjectID: String]) {
        var oid = tree.oid
        var handle: OpaquePointer?
        guard git_tree_lookup(&handle, pointer, &oid) == 0, let handle else { return }
        defer { git_tree_free(handle) }
        var subtrees: [(id: ObjectID, path: String)] = []
        for index in 0..<git_tree_entrycount(handle) {
            guard let entry = git_tree_entry_byindex(handle, index) else { continue }
            let id = ObjectID(git_tree_entry_id(entry))
            guard ids.contains(id), names[id] == nil else { continue }
            let path = prefix + String(cString: git_tree_entry_name(entry))
            names[id] = path
            if git_tree_entry_type(entry) == GIT_OBJECT_TREE { subtrees.append((id, path + "/")) }
        }
        for subtree in subtrees {
            nameEntries(of: subtree.id, prefix: subtree.path, among: ids, into: &names)
        }
    }
}
