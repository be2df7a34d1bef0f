import Foundation
import GitStore
import GitWire

/// Read access to the repository at one commit (the tip an operation runs on, or the snapshot
/// a read is answered from). Used only on the thread that owns its repository instance: the
/// committer's git thread, or a reader's (`ReaderPool`).
public struct TreeSnapshot {
    let repository: Repository
    /// nil for a branch that does not exist yet (an empty tree).
    public let commit: ObjectID?

    init(repository: Repository, commit: ObjectID?) {
        self.repository = repository
        self.commit = commit
    }

    public func blob(_ path: String) throws -> Data? {
        guard let commit else { return nil }
        return try repository.blob(commit: commit, path: path)
    }

    /// The content of the blob `id` (an entry's id from `entries`).
    public func blob(id: ObjectID) throws -> Data {
        try repository.blob(id)
    }

    public func text(_ path: String) throws -> String? {
        try blob(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Files directly or indirectly under `directory`, keyed by path relative to it.
    public func files(under directory: String) throws -> [String: Data] {
        guard let commit else { return [:] }
        return try repository.files(commit: commit, under: directory)
    }

    public func entries(_ directory: String) throws -> [TreeEntry] {
        guard let commit else { return [] }
        return try repository.entries(commit: commit, path: directory)
    }

    public func treeID(_ path: String) throws -> ObjectID? {
        guard let commit else { return nil }
        return try repository.treeID(commit: commit, path: path)
    }

    /// The changes that make `directory` hold exactly `files`: upserts for new or changed
    /// files, deletes for files no longer rendered (only `*.yaml` when `keepOthers`).
    public func syncChanges(directory: String, to files: [String: String], keepOthers: Bool = false) throws -> [TreeChange] {
        Self.syncChanges(directory: directory, from: try self.files(under: directory), to: files, keepOthers: keepOthers)
    }

    /// The changes that turn `existing` (the files of `directory`, already read) into `files`.
    public static func syncChanges(directory: String, from existing: [String: Data], to files: [String: String],
                                   keepOthers: Bool = false) -> [TreeChange] {
        var changes: [TreeChange] = []
        for (name, content) in files.sorted(by: { $0.key < $1.key }) {
            let data = Data(content.utf8)
            if existing[name] != data { changes.append(.upsert(path: "\(directory)/\(name)", content: data)) }
        }
        for name in existing.keys.sorted() where files[name] == nil {
            if keepOthers && !name.hasSuffix(".yaml") { continue }
            changes.append(.delete(path: "\(directory)/\(name)"))
        }
        return changes
    }
}
