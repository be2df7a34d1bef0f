import Foundation
import GitStore
import GitWire

/// Where a revision that Argo CD reports stands against what the branch holds for one directory.
public enum RevisionStanding: Sendable, Equatable {
    /// The revision is the commit that last changed the directory, or a later one.
    case current
    /// The directory changed after the revision, first in `changedBy` (the oldest such commit
    /// on the branch is not sought: the newest is enough to say why).
    case older(changedBy: ObjectID)
    /// The revision is not on the branch as this cache knows it.
    case unknown
}

extension Committer {
    /// Where `revision` stands for `directory` at the tip reads are answered at (fresh from the
    /// remote unless `refresh` is false), and that tip: current when no commit after it on the
    /// first-parent line changed the directory (or it is newer than the tip), older when one did.
    public func standing(of revision: String, directory: String, refresh: Bool = true) async throws -> (standing: RevisionStanding, tip: ObjectID?) {
        guard let wanted = ObjectID(hex: revision.lowercased()) else { return (.unknown, nil) }
        return try await read(refresh: refresh) { tree in
            (try Self.standing(of: wanted, directory: directory, tree: tree), tree.commit)
        }
    }

    /// The commit that last changed `directory` at the tip reads are answered at, and the
    /// directory's tree there (nil when the directory does not exist).
    public func lastChange(of directory: String, refresh: Bool = true) async throws -> (commit: ObjectID?, tree: ObjectID?) {
        try await read(refresh: refresh) { tree in
            (try tree.commitsChanging(directory, limit: 1).first?.id, try tree.treeID(directory))
        }
    }

    static func standing(of revision: ObjectID, directory: String, tree: TreeSnapshot, scanLimit: Int = 100_000) throws -> RevisionStanding {
        guard let tip = tree.commit else { return .unknown }
        if revision == tip { return .current }
        let repository = tree.repository
        guard try repository.contains(revision) else { return .unknown }
        if try repository.isDescendant(revision, of: tip) { return .current }
        guard try repository.isDescendant(tip, of: revision) else { return .unknown }
        // Walk back from the tip to the revision: any commit between that changed the
        // directory makes the revision older than the directory's last change.
        var current = try repository.commit(tip)
        var currentTree = try repository.treeID(commit: tip, path: directory)
        for _ in 0..<scanLimit {
            guard let parent = current.parents.first else { return .unknown }
            let parentTree = try repository.treeID(commit: parent, path: directory)
            if parentTree != currentTree { return .older(changedBy: current.id) }
            if parent == revision { return .current }
            current = try repository.commit(parent)
            currentTree = parentTree
        }
        return .unknown
    }
}
