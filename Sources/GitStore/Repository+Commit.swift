import CLibGit2
import Foundation
import GitWire

/// Building commits in memory: blobs, then the parent's tree edited along the changed paths
/// (`TreeEditor`), then `git_commit_create` without touching any reference.
extension Repository {
    /// Applies `changes` (in order) to the tree of `parent` (or to an empty tree) and writes a
    /// commit with that tree. Returns nil, writing no commit, when the tree does not change.
    /// No reference is updated: move a branch with `updateReference` or `push`.
    /// Invalid paths (empty, ".", "..", ".git" components, a leading "/", NUL), signatures
    /// or messages throw `.invalidInput`.
    /// With `signer`, the commit carries an SSH signature of its content in a `gpgsig` header.
    public func makeCommit(
        parent: ObjectID?, changes: [TreeChange], author: Signature, committer: Signature, message: String,
        signer: SSHSigner? = nil
    ) throws -> ObjectID? {
        let operation = "makeCommit"
        for change in changes {
            _ = try TreePath.components(change.path, operation: operation)
        }
        try Self.validate(author, role: "author", operation: operation)
        try Self.validate(committer, role: "committer", operation: operation)
        guard !message.contains("\0") else {
            throw GitError(kind: .invalidInput, message: "commit message contains NUL", operation: operation)
        }

        var parentCommit: OpaquePointer?
        defer { git_commit_free(parentCommit) }
        let baseline: OpaquePointer
        if let parent {
            parentCommit = try lookupCommit(parent, operation: operation)
            var tree: OpaquePointer?
            try gitCall(operation) { git_commit_tree(&tree, parentCommit) }
            guard let tree else {
                throw GitError(kind: .other, message: "libgit2 returned no tree", operation: operation)
            }
            baseline = tree
        } else {
            baseline = try emptyTree(operation: operation)
        }
        defer { git_tree_free(baseline) }

        let plan = try TreeUpdatePlan(changes: changes, repository: self, baseline: baseline, operation: operation)
        var treeOID = git_tree_id(baseline).pointee
        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        let editor = TreeEditor(repository: self, odb: odb!, operation: operation)
        // Removals first, then upserts: the plan resolved every conflict between the two.
        if !plan.removals.isEmpty {
            treeOID = try editor.apply(root: treeOID, edits: plan.removals.map { ($0, .remove) })
        }
        if !plan.upserts.isEmpty {
            var edits: [(path: String, action: TreeEditor.Action)] = []
            for upsert in plan.upserts {
                edits.append((upsert.path, .upsertBlob(ObjectID(try writeBlob(upsert.content, operation: operation)))))
            }
            treeOID = try editor.apply(root: treeOID, edits: edits)
        }
        if git_oid_equal(&treeOID, git_tree_id(baseline)) == 1 {
            return nil
        }

        let tree = try lookupTree(&treeOID, operation: operation)
        defer { git_tree_free(tree) }
        let authorSignature = try author.makeGitSignature(operation: operation)
        defer { git_signature_free(authorSignature) }
        let committerSignature = try committer.makeGitSignature(operation: operation)
        defer { git_signature_free(committerSignature) }
        let fullMessage = message.hasSuffix("\n") ? message : message + "\n"
        var commitOID = git_oid()
        var parents: [OpaquePointer?] = parentCommit.map { [$0] } ?? []
        if let signer {
            var content = git_buf()
            defer { git_buf_dispose(&content) }
            try gitCall(operation) {
                parents.withUnsafeMutableBufferPointer { buffer in
                    git_commit_create_buffer(&content, pointer, authorSignature, committerSignature, nil, fullMessage, tree,
                                             buffer.count, buffer.baseAddress)
                }
            }
            let unsigned = Data(bytes: content.ptr, count: content.size)
            let signature: String
            do { signature = try signer.sign(unsigned) } catch {
                throw GitError(kind: .other, message: "signing the commit failed: \(error)", operation: operation)
            }
            try gitCall(operation) { git_commit_create_with_signature(&commitOID, pointer, content.ptr, signature, "gpgsig") }
            return ObjectID(commitOID)
        }
        try gitCall(operation) {
            parents.withUnsafeMutableBufferPointer { buffer in
                git_commit_create(
                    &commitOID, pointer, nil, authorSignature, committerSignature, nil, fullMessage, tree,
                    buffer.count, buffer.baseAddress)
            }
        }
        return ObjectID(commitOID)
    }

    private static func validate(_ signature: Signature, role: String, operation: String) throws {
        for (field, value) in [("name", signature.name), ("email", signature.email)] {
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || value.contains(where: { "<>\n\0".contains($0) }) {
                throw GitError(kind: .invalidInput,
                               message: "invalid \(role) \(field) \(value.debugDescription)", operation: operation)
            }
        }
    }

    private func emptyTree(operation: String) throws -> OpaquePointer {
        var builder: OpaquePointer?
        try gitCall(operation) { git_treebuilder_new(&builder, pointer, nil) }
        defer { git_treebuilder_free(builder) }
        var oid = git_oid()
        try gitCall(operation) { git_treebuilder_write(&oid, builder) }
        return try lookupTree(&oid, operation: operation)
    }

    private func writeBlob(_ content: Data, operation: String) throws -> git_oid {
        var oid = git_oid()
        try gitCall(operation) {
            content.withUnsafeBytes { bytes in
                git_blob_create_from_buffer(&oid, pointer, bytes.baseAddress, bytes.count)
            }
        }
        return oid
    }
}

/// `changes` turned into two conflict-free sets of edits: removals (paths that exist in the
/// baseline, none below another), then upserts (none below another). Removing a missing path,
/// writing a path twice, replacing a tree by a blob and a file below a blob are all resolved
/// here, so that each edit is a plain removal or write.
struct TreeUpdatePlan {
    var removals: [String] = []
    var upserts: [(path: String, content: Data)] = []

    init(changes: [TreeChange], repository: Repository, baseline: OpaquePointer, operation: String) throws {
        // Replay the changes in order on paths alone.
        var explicitRemovals: [String] = []
        var pending: [(path: String, content: Data)] = []
        for change in changes {
            switch change {
            case .delete(let path):
                pending.removeAll { $0.path == path || Self.isBelow($0.path, path) }
                explicitRemovals.append(path)
            case .upsert(let path, let content):
                // The path becomes a file: anything written at or below it is gone ...
                pending.removeAll { $0.path == path || Self.isBelow($0.path, path) }
                // ... and a file written where a directory is now needed is replaced by that directory.
                let displaced = pending.filter { Self.isBelow(path, $0.path) }.map(\.path)
                pending.removeAll { displaced.contains($0.path) }
                explicitRemovals.append(contentsOf: displaced)
                pending.append((path, content))
            }
        }

        // Removals against the baseline: explicit ones, directories replaced by files, files in
        // the way of a directory.
        // Each path is looked up once: the files of one preview share their directories, and a
        // lookup reads every tree on the way (`preview/` alone has an entry per preview).
        var kinds: [String: EntryKind] = [:]
        let root = ObjectID(git_tree_id(baseline).pointee)
        func kind(_ path: String) throws -> EntryKind {
            if let known = kinds[path] { return known }
            var found = EntryKind.missing
            let components = path.split(separator: "/").map(String.init)
            if let entry = try repository.resolve(components, in: root, operation: operation) {
                found = entry.kind == .tree ? .tree : .other
            }
            kinds[path] = found
            return found
        }
        var candidates = explicitRemovals
        for upsert in pending {
            let components = upsert.path.split(separator: "/").map(String.init)
            for depth in 1...components.count {
                let prefix = components[0..<depth].joined(separator: "/")
                let found = try kind(prefix)
                if found == .missing { break }
                let isTree = found == .tree
                let isLast = depth == components.count
                if isLast ? isTree : !isTree {
                    candidates.append(prefix)
                    break
                }
            }
        }
        var existing: [String] = []
        var seen: Set<String> = []
        for path in candidates where seen.insert(path).inserted {
            if try kind(path) != .missing {
                existing.append(path)
            }
        }
        let existingSet = Set(existing)
        removals = existing.filter { path in !Self.ancestors(of: path).contains(where: existingSet.contains) }
        upserts = pending
    }

    private enum EntryKind { case missing, tree, other }

    /// "a/b/c" -> ["a", "a/b"].
    static func ancestors(of path: String) -> [String] {
        var result: [String] = []
        var index = path.startIndex
        while let slash = path[index...].firstIndex(of: "/") {
            result.append(String(path[..<slash]))
            index = path.index(after: slash)
        }
        return result
    }

    /// Whether `path` lies strictly inside the directory `directory`.
    static func isBelow(_ path: String, _ directory: String) -> Bool {
        path.count > directory.count && path.hasPrefix(directory) && path.dropFirst(directory.count).first == "/"
    }
}
