import CLibGit2
import Foundation
import GitWire

/// Reading trees and blobs at a commit. Paths are relative to the root, '/'-separated;
/// "" is the root. Leading and trailing slashes are ignored.
extension Repository {
    /// The id of the directory at `path` ("" = root), or nil when missing or not a directory.
    public func treeID(commit: ObjectID, path: String) throws -> ObjectID? {
        try withTree(commit: commit, path: path, operation: "treeID") { tree in
            ObjectID(git_tree_id(tree))
        }
    }

    /// The entries of the directory at `path`, sorted by name; [] when it is missing or not a directory.
    public func entries(commit: ObjectID, path: String) throws -> [TreeEntry] {
        try withTree(commit: commit, path: path, operation: "entries") { tree in
            treeEntries(tree)
        } ?? []
    }

    /// The content of the file at `path`, or nil when missing or not a file.
    public func blob(commit: ObjectID, path: String) throws -> Data? {
        let operation = "blob"
        let components = try readPathComponents(path, operation: operation)
        guard !components.isEmpty,
              let found = try resolve(components, in: try rootTreeID(commit: commit, operation: operation), operation: operation),
              found.kind == .blob
        else { return nil }
        var oid = found.id.oid
        return try blobData(&oid, operation: operation)
    }

    /// The content of the blob `id` (an entry's id from `entries`).
    public func blob(_ id: ObjectID) throws -> Data {
        var oid = id.oid
        return try blobData(&oid, operation: "blob")
    }

    /// Every file under the directory at `path` (recursively), keyed by its path relative to it.
    /// [:] when the directory is missing.
    public func files(commit: ObjectID, under path: String) throws -> [String: Data] {
        let operation = "files"
        return try withTree(commit: commit, path: path, operation: operation) { tree in
            var result: [String: Data] = [:]
            try collectFiles(tree, prefix: "", into: &result, operation: operation)
            return result
        } ?? [:]
    }

    // MARK: Helpers

    func lookupTree(_ oid: UnsafePointer<git_oid>, operation: String) throws -> OpaquePointer {
        var tree: OpaquePointer?
        try gitCall(operation) { git_tree_lookup(&tree, pointer, oid) }
        guard let tree else {
            throw GitError(kind: .other, message: "libgit2 returned no tree", operation: operation)
        }
        return tree
    }

    /// Calls `body` with the tree at `path` of `commit`, or returns nil when there is no directory there.
    /// The way there is read as raw trees (`resolve`): libgit2 parses only the tree handed to `body`.
    private func withTree<T>(
        commit: ObjectID, path: String, operation: String, _ body: (OpaquePointer) throws -> T
    ) throws -> T? {
        let components = try readPathComponents(path, operation: operation)
        let root = try rootTreeID(commit: commit, operation: operation)
        var oid: git_oid
        if components.isEmpty {
            oid = root.oid
        } else {
            guard let found = try resolve(components, in: root, operation: operation), found.kind == .tree else { return nil }
            oid = found.id.oid
        }
        let tree = try lookupTree(&oid, operation: operation)
        defer { git_tree_free(tree) }
        return try body(tree)
    }

    func rootTreeID(commit id: ObjectID, operation: String) throws -> ObjectID {
        let commit = try lookupCommit(id, operation: operation)
        defer { git_commit_free(commit) }
        return ObjectID(git_commit_tree_id(commit).pointee)
    }

    /// The entry at `components` below the tree `root`, found in raw tree objects (the memo of
    /// recently written trees, else the object database), so that a wide tree on the way
    /// (`preview/`, an entry per preview) is scanned in place instead of parsed by libgit2 and
    /// kept in its object cache. Nil when a component is missing or not a directory.
    func resolve(_ components: [String], in root: ObjectID, operation: String) throws -> (id: ObjectID, kind: TreeEntries.Kind)? {
        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        var current = root
        for (index, name) in components.enumerated() {
            let raw = try rawTree(current, odb: odb!, operation: operation)
            let entries = try rawTrees.entries(current, raw, operation: operation)
            guard let entry = TreeEntries.find(name, in: raw, entries: entries) else { return nil }
            if index == components.count - 1 { return entry }
            guard entry.kind == .tree else { return nil }
            current = entry.id
        }
        return (root, .tree)
    }

    private func treeEntries(_ tree: OpaquePointer) -> [TreeEntry] {
        (0..<git_tree_entrycount(tree)).compactMap { index -> TreeEntry? in
            guard let entry = git_tree_entry_byindex(tree, index) else { return nil }
            return TreeEntry(
                name: String(cString: git_tree_entry_name(entry)),
                isTree: git_tree_entry_type(entry) == GIT_OBJECT_TREE,
                id: ObjectID(git_tree_entry_id(entry)))
        }.sorted { $0.name < $1.name }
    }

    private func collectFiles(
        _ tree: OpaquePointer, prefix: String, into result: inout [String: Data], operation: String
    ) throws {
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            let name = prefix + String(cString: git_tree_entry_name(entry))
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE:
                let subtree = try lookupTree(git_tree_entry_id(entry), operation: operation)
                defer { git_tree_free(subtree) }
                try collectFiles(subtree, prefix: name + "/", into: &result, operation: operation)
            case GIT_OBJECT_BLOB:
                result[name] = try blobData(git_tree_entry_id(entry), operation: operation)
            default:
                continue  // submodules
            }
        }
    }

    func blobData(_ oid: UnsafePointer<git_oid>, operation: String) throws -> Data {
        var blob: OpaquePointer?
        try gitCall(operation) { git_blob_lookup(&blob, pointer, oid) }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let bytes = git_blob_rawcontent(blob) else { return Data() }
        return Data(bytes: bytes, count: size)
    }

    /// Components of a path to read; tolerant of leading/trailing slashes, strict otherwise.
    func readPathComponents(_ path: String, operation: String) throws -> [String] {
        var trimmed = Substring(path)
        while trimmed.hasPrefix("/") { trimmed = trimmed.dropFirst() }
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if trimmed.isEmpty { return [] }
        return try TreePath.components(String(trimmed), operation: operation)
    }
}

/// Validation of paths written into trees.
enum TreePath {
    /// Splits a relative path; rejects empty, ".", "..", ".git" components, a leading "/" and NUL.
    static func components(_ path: String, operation: String) throws -> [String] {
        func invalid(_ reason: String) -> GitError {
            GitError(kind: .invalidInput, message: "invalid path \(path.debugDescription): \(reason)",
                     operation: operation)
        }
        if path.isEmpty { throw invalid("empty") }
        if path.contains("\0") { throw invalid("contains NUL") }
        if path.hasPrefix("/") { throw invalid("must be relative (no leading '/')") }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for component in components {
            if component.isEmpty { throw invalid("empty path component") }
            if component == "." || component == ".." { throw invalid("'\(component)' component") }
            if component.lowercased() == ".git" { throw invalid("'.git' component") }
        }
        return components
    }
}
