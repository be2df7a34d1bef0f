import CLibGit2
import Foundation
import GitWire

/// One object to pack, with the path at which a commit's tree holds it.
struct PackEntry: Equatable {
    var id: ObjectID
    var name: String?
}

/// The order and the names in which objects go to libgit2's pack builder, as
/// `git pack-objects --revs` gives them. The builder sorts its delta candidates by type, then a
/// hash of the name (its last characters weigh most), then size, then the order of insertion,
/// and tries each against the ten before it. Named, the versions of one kind of file (every
/// preview's `deployment.yaml`, every `preview/` tree) meet in that window; inserted newest
/// first, the many `preview/` trees of the same size lie in the order of history, so each is a
/// delta of the next older one (one entry apart) rather than of a random version (hundreds of
/// entries apart). Without either, most trees were deltas of a kilobyte or more.
extension Repository {
    /// `ids` in that order: the commits among them newest first along their first parents, each
    /// followed by the objects its tree reaches through trees among `ids`, named by path ("" for
    /// a root tree); then whatever no such commit reaches, unnamed. Only reads; never throws: the
    /// order and the names are hints, and every id is in the result once.
    func packOrder(_ ids: [ObjectID]) -> [PackEntry] {
        let members = Set(ids)
        var odb: OpaquePointer?
        guard git_repository_odb(&odb, pointer) == 0, let odb else { return ids.map { PackEntry(id: $0) } }
        defer { git_odb_free(odb) }
        var commits: [ObjectID: (time: Int64, parent: ObjectID?, tree: ObjectID)] = [:]
        var parents = Set<ObjectID>()
        for id in ids {
            var oid = id.oid
            var size = 0
            var type = GIT_OBJECT_INVALID
            guard git_odb_read_header(&size, &type, odb, &oid) == 0, type == GIT_OBJECT_COMMIT else { continue }
            var commit: OpaquePointer?
            guard git_commit_lookup(&commit, pointer, &oid) == 0, let commit else { continue }
            defer { git_commit_free(commit) }
            let parent = git_commit_parentcount(commit) > 0 ? git_commit_parent_id(commit, 0).map(ObjectID.init) : nil
            commits[id] = (git_commit_time(commit), parent.flatMap { members.contains($0) ? $0 : nil }, ObjectID(git_commit_tree_id(commit)))
            for index in 0..<git_commit_parentcount(commit) {
                if let other = git_commit_parent_id(commit, index) { parents.insert(ObjectID(other)) }
            }
        }
        // Tips first (commits no other commit here descends from), newest first; then the rest.
        let starts = commits.sorted { a, b in
            let (tipA, tipB) = (!parents.contains(a.key), !parents.contains(b.key))
            if tipA != tipB { return tipA }
            return a.value.time != b.value.time ? a.value.time > b.value.time : a.key.description < b.key.description
        }.map(\.key)
        var order: [PackEntry] = []
        order.reserveCapacity(ids.count)
        var placed = Set<ObjectID>()
        for start in starts {
            var next: ObjectID? = start
            while let id = next, !placed.contains(id), let commit = commits[id] {
                placed.insert(id)
                order.append(PackEntry(id: id))
                if members.contains(commit.tree), placed.insert(commit.tree).inserted {
                    order.append(PackEntry(id: commit.tree, name: ""))
                    placeEntries(of: commit.tree, prefix: "", among: members, placed: &placed, into: &order)
                }
                next = commit.parent
            }
        }
        for id in ids where placed.insert(id).inserted {
            order.append(PackEntry(id: id))
        }
        return order
    }

    /// Appends the entries of `tree` that are among `ids` and not placed yet, then those of
    /// the subtrees among them: a tree placed before was walked before.
    private func placeEntries(of tree: ObjectID, prefix: String, among ids: Set<ObjectID>,
                              placed: inout Set<ObjectID>, into order: inout [PackEntry]) {
        var oid = tree.oid
        var handle: OpaquePointer?
        guard git_tree_lookup(&handle, pointer, &oid) == 0, let handle else { return }
        defer { git_tree_free(handle) }
        var subtrees: [(id: ObjectID, path: String)] = []
        for index in 0..<git_tree_entrycount(handle) {
            guard let entry = git_tree_entry_byindex(handle, index) else { continue }
            let id = ObjectID(git_tree_entry_id(entry))
            guard ids.contains(id), placed.insert(id).inserted else { continue }
            let path = prefix + String(cString: git_tree_entry_name(entry))
            order.append(PackEntry(id: id, name: path))
            if git_tree_entry_type(entry) == GIT_OBJECT_TREE { subtrees.append((id, path + "/")) }
        }
        for subtree in subtrees {
            placeEntries(of: subtree.id, prefix: subtree.path, among: ids, placed: &placed, into: &order)
        }
    }
}
