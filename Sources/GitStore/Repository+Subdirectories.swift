import CLibGit2
import Foundation
import GitWire

/// The subdirectories of one wide directory (`preview/`, an entry per preview), read from its
/// raw tree: neither parsed by libgit2 nor turned into `TreeEntry` values, so that counting the
/// previews on every landed batch, or comparing two tips' previews, costs a scan of one object.
extension Repository {
    /// How many subdirectories of the directory at `path` have names starting with `prefix`
    /// (0 when it is missing).
    public func subdirectoryCount(commit: ObjectID, path: String, prefix: String) throws -> Int {
        var count = 0
        try forEachSubdirectory(commit: commit, path: path, prefix: prefix, operation: "subdirectoryCount") { _, _, _ in count += 1 }
        return count
    }

    /// name → tree id of the subdirectories of the directory at `path` whose names start with
    /// `prefix` ([:] when it is missing).
    public func subdirectories(commit: ObjectID, path: String, prefix: String) throws -> [String: ObjectID] {
        var found: [String: ObjectID] = [:]
        try forEachSubdirectory(commit: commit, path: path, prefix: prefix, operation: "subdirectories") { raw, entry, id in
            let name = raw[(raw.startIndex + entry.nameStart)..<(raw.startIndex + entry.nameEnd)]
            found[String(decoding: name, as: UTF8.self)] = id
        }
        return found
    }

    private func forEachSubdirectory(commit: ObjectID, path: String, prefix: String, operation: String,
                                     _ body: (Data, TreeEntries.Entry, ObjectID) throws -> Void) throws {
        let components = try readPathComponents(path, operation: operation)
        var id = try rootTreeID(commit: commit, operation: operation)
        if !components.isEmpty {
            guard let found = try resolve(components, in: id, operation: operation), found.kind == .tree else { return }
            id = found.id
        }
        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        let raw = try rawTree(id, odb: odb!, operation: operation)
        let wanted = Array(prefix.utf8)
        for entry in try rawTrees.entries(id, raw, operation: operation) {
            guard entry.kind == .tree, entry.nameEnd - entry.nameStart >= wanted.count,
                  raw[(raw.startIndex + entry.nameStart)..<(raw.startIndex + entry.nameStart + wanted.count)].elementsEqual(wanted)
            else { continue }
            try body(raw, entry, entry.id)
        }
    }
}
