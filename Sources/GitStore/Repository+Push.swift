import CLibGit2
import Foundation
import GitWire

/// Pushing a branch: the one entry point (`pushBranch`) and its pipelined form (`startPush`).
/// Which transport carries a push is decided here and nowhere else.
extension Repository {
    /// Moves `refs/heads/<branch>` on the remote from `expected` (our last known remote tip; nil:
    /// the branch does not exist yet) to `commit`, never forced. A remote whose branch is not at
    /// `expected`, or that refuses the update, throws `.refused`.
    ///
    /// For `http://` and `https://` remotes the push is a compare-and-swap spoken directly in git's
    /// smart HTTP protocol (`SmartHTTPClient` on `HTTPClient`, every exchange bounded), with a thin
    /// pack of exactly the objects the new commits created (`ThinPackWriter`): its cost grows with
    /// the change, not with the repository. Every other case goes through libgit2's
    /// `git_remote_push` (`push(_:refspecs:)`): file://, ssh://, a branch that does not exist yet,
    /// a history that is not a line of one-parent commits, and a server that redirects or does
    /// not speak smart HTTP with report-status.
    public func pushBranch(_ remote: RemoteOptions, branch: String, commit: ObjectID, expected: ObjectID?) throws {
        try startPush(remote, branch: branch, commit: commit, expected: expected, on: nil).finish()
    }

    /// Starts `pushBranch`. When the transport allows, its network part runs on `queue` and the
    /// caller may go on (build the next batch on `commit`) until it calls `finish()`; otherwise,
    /// or with no queue, the whole push happens in `finish()`.
    public func startPush(_ remote: RemoteOptions, branch: String, commit: ObjectID, expected: ObjectID?,
                          on queue: DispatchQueue?) throws -> PendingPush {
        let pending = PendingPush(repository: self, remote: remote, branch: branch, commit: commit, expected: expected)
        if let expected, let client = SmartHTTPClient(remote: remote), let pack = try thinPack(tip: commit, base: expected) {
            let transfer: @Sendable () -> Void = {
                pending.network(Result { try client.push(branch: branch, commit: commit, expected: expected, pack: pack) })
            }
            if let queue { queue.async(execute: transfer) } else { transfer() }
        } else {
            pending.network(.success(false))
        }
        return pending
    }

    /// Creates `refs/heads/<branch>` on the remote at `commit`, whose history down to `base` (a
    /// commit the remote has) is one line: over smart HTTP with a thin pack of that line (every
    /// exchange bounded), else through libgit2. A branch already at `commit` is left as it is.
    public func pushNewBranch(_ remote: RemoteOptions, branch: String, commit: ObjectID, base: ObjectID?) throws {
        if let base, let client = SmartHTTPClient(remote: remote), let pack = try thinPack(tip: commit, base: base) {
            if try client.push(branch: branch, commit: commit, expected: nil, pack: pack) { return }
        }
        try push(remote, refspecs: ["\(commit.hex):refs/heads/\(branch)"])
    }

    /// The thin pack of the objects `base..tip` created, or nil when that history is not a line
    /// (`commitLine`).
    private func thinPack(tip: ObjectID, base: ObjectID) throws -> Data? {
        guard let line = try commitLine(tip: tip, base: base, maxCommits: 10_000, operation: "push") else { return nil }
        var odb: OpaquePointer?
        try gitCall("push") { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        return try ThinPackWriter.pack(line, from: ObjectDatabase(repository: self, odb: odb!, operation: "push")).data
    }

    /// The commits of `base..tip`, newest first, each with its tree and its parent's tree; nil
    /// when that history is not a single line of at most `maxCommits` one-parent commits
    /// descending from `base`, or is empty.
    func commitLine(tip: ObjectID, base: ObjectID, maxCommits: Int, operation: String) throws -> [CommitLink]? {
        var line: [CommitLink] = []
        var current = tip
        while current != base {
            guard line.count < maxCommits else { return nil }
            let commit = try lookupCommit(current, operation: operation)
            defer { git_commit_free(commit) }
            guard git_commit_parentcount(commit) == 1, let parentID = git_commit_parent_id(commit, 0) else { return nil }
            var parent: OpaquePointer?
            try gitCall(operation) { git_commit_parent(&parent, commit, 0) }
            defer { git_commit_free(parent) }
            line.append(CommitLink(commit: ObjectID(git_commit_id(commit)), tree: ObjectID(git_commit_tree_id(commit)),
                                   parentTree: ObjectID(git_commit_tree_id(parent))))
            current = ObjectID(parentID)
        }
        return line.isEmpty ? nil : line
    }
}

/// A push under way (see `Repository.startPush`).
public final class PendingPush: @unchecked Sendable {
    private let repository: Repository
    private let remote: RemoteOptions
    private let branch: String
    public let commit: ObjectID
    public let expected: ObjectID?
    private let done = DispatchSemaphore(value: 0)
    /// The smart-HTTP exchange's outcome: true when it moved the branch, false when the push is
    /// left to libgit2.
    private var outcome: Result<Bool, Error>?

    init(repository: Repository, remote: RemoteOptions, branch: String, commit: ObjectID, expected: ObjectID?) {
        self.repository = repository; self.remote = remote; self.branch = branch
        self.commit = commit; self.expected = expected
    }

    fileprivate func network(_ result: Result<Bool, Error>) {
        outcome = result
        done.signal()
    }

    /// Waits for the push and completes it; throws `.refused` when the remote's branch was not at
    /// `expected` or the server refused the update. Call it on the repository's thread.
    public func finish() throws {
        done.wait()
        if try outcome!.get() { return }
        try repository.push(remote, refspecs: ["\(commit.hex):refs/heads/\(branch)"],
                            expectedRemote: ["refs/heads/\(branch)": expected])
    }
}

/// The repository's objects as the thin-pack writer reads them.
struct ObjectDatabase: PackObjectSource {
    let repository: Repository
    let odb: OpaquePointer
    let operation: String

    func object(_ id: ObjectID) throws -> (type: UInt8, data: Data) {
        var object: OpaquePointer?
        var oid = id.oid
        try gitCall(operation) { git_odb_read(&object, odb, &oid) }
        defer { git_odb_object_free(object) }
        let size = git_odb_object_size(object)
        let data = git_odb_object_data(object).map { Data(bytes: $0, count: size) } ?? Data()
        return (UInt8(git_odb_object_type(object).rawValue), data)
    }

    func rawTree(_ id: ObjectID) throws -> Data {
        try repository.rawTree(id, odb: odb, operation: operation)
    }

    func treeEdit(_ id: ObjectID) -> TreeEdit? {
        repository.treeEdits[id]
    }
}
