import CLibGit2
import Foundation
import GitWire

/// A bare git repository (the local cache of the gitops remote), opened through libgit2.
///
/// Not thread-safe: use one instance from one thread at a time (for instance from a serial
/// queue that owns it). Different instances, even of the same folder, may be used from
/// different threads at once. Blocking calls (`fetch`, `push`) must not run on an event loop.
public final class Repository {
    let pointer: OpaquePointer
    public let path: String
    /// Raw trees lately written or read by commits and pushes (see `TreeEditor`).
    let rawTrees = RawTreeMemo(budget: 2 << 20)
    /// How the trees lately written by commits differ from their bases (see `TreeEditor`).
    let treeEdits = TreeEditLog(capacity: 4_096)
    /// The loose-object writer (`StoredLooseObjects`), owned by libgit2's object database.
    var looseWriter: UnsafeMutablePointer<git_odb_backend>?
    /// Where new objects go instead, when the folder keeps them in memory (`MemoryObjects`).
    public internal(set) var memoryObjects: MemoryObjects?

    private init(pointer: OpaquePointer, path: String) {
        self.pointer = pointer
        self.path = path
    }

    deinit {
        git_repository_free(pointer)
    }

    /// Opens the bare repository at `path`, or creates it (with its parent folders) when the folder
    /// is missing or empty (apart from `*.lock` files), like `git init --bare` with `HEAD` on `refs/heads/main`.
    /// A folder that holds something else fails with `.notFound`; a non-bare repository with `.invalidInput`.
    /// `objectsInMemory`: new objects are held in memory (`MemoryObjects`), shared with every other
    /// instance of the folder in this process, until `packNewObjects` writes them.
    public static func openOrCreateBare(at path: String, objectsInMemory: Bool = false) throws -> Repository {
        ensureLibgit2()
        let operation = "open"
        guard !path.isEmpty, !path.contains("\0") else {
            throw GitError(kind: .invalidInput, message: "invalid repository path \(path.debugDescription)",
                           operation: operation)
        }
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        // Lock files (e.g. a CacheLock kept in the cache folder) do not make a folder non-empty.
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: absolute))?
            .filter { !$0.hasSuffix(".lock") }
        var repository: OpaquePointer?
        if let contents, !contents.isEmpty {
            try gitCall(operation) {
                git_repository_open_ext(
                    &repository, absolute, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil)
            }
        } else {
            var options = git_repository_init_options()
            try gitCall(operation) {
                git_repository_init_options_init(&options, UInt32(GIT_REPOSITORY_INIT_OPTIONS_VERSION))
            }
            options.flags = GIT_REPOSITORY_INIT_BARE.rawValue | GIT_REPOSITORY_INIT_MKPATH.rawValue
                | GIT_REPOSITORY_INIT_MKDIR.rawValue
            try "main".withCString { head in
                options.initial_head = head
                try gitCall(operation) { git_repository_init_ext(&repository, absolute, &options) }
            }
        }
        guard let repository else {
            throw GitError(kind: .other, message: "libgit2 returned no repository", operation: operation)
        }
        let opened = Repository(pointer: repository, path: absolute)
        guard git_repository_is_bare(repository) == 1 else {
            throw GitError(kind: .invalidInput, message: "\(absolute) is not a bare repository",
                           operation: operation)
        }
        opened.looseWriter = try StoredLooseObjects.install(in: repository, operation: operation)
        if objectsInMemory { try opened.attachMemoryObjects(create: true, operation: operation) }
        return opened
    }

    /// Opens the existing bare repository at `path` for reads only (nothing is written through
    /// it): a reader's own instance, used on its own thread beside the one that writes.
    public static func openForReading(at path: String) throws -> Repository {
        ensureLibgit2()
        var repository: OpaquePointer?
        try gitCall("open") {
            git_repository_open_ext(&repository, path,
                                    GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue | GIT_REPOSITORY_OPEN_BARE.rawValue, nil)
        }
        guard let repository else { throw GitError(kind: .other, message: "libgit2 returned no repository", operation: "open") }
        let opened = Repository(pointer: repository, path: path)
        try opened.attachMemoryObjects(create: false, operation: "open")
        return opened
    }

    // MARK: References

    /// The object a reference points to (following symbolic references), or nil when it does not exist.
    public func lookupReference(_ name: String) throws -> ObjectID? {
        var oid = git_oid()
        git_error_clear()
        let code = git_reference_name_to_id(&oid, pointer, name)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        if code < 0 { throw GitError.lastError(code, operation: "lookupReference") }
        return ObjectID(oid)
    }

    /// Points `name` at `new` if and only if it currently points at `expected`
    /// (`expected == nil`: only if it does not exist yet). Otherwise throws `.refused`.
    /// `new` must exist in the repository (`.notFound` otherwise).
    public func updateReference(_ name: String, to new: ObjectID, expected: ObjectID?, message: String) throws {
        let operation = "updateReference"
        try validateReferenceName(name, operation: operation)
        guard try contains(new) else {
            throw GitError(kind: .notFound, code: GIT_ENOTFOUND.rawValue,
                           message: "object \(new) is not in the repository", operation: operation)
        }
        var newOID = new.oid
        var reference: OpaquePointer?
        git_error_clear()
        let code: Int32
        if let expected {
            var expectedOID = expected.oid
            code = git_reference_create_matching(&reference, pointer, name, &newOID, 1, &expectedOID, message)
        } else {
            code = git_reference_create_matching(&reference, pointer, name, &newOID, 0, nil, message)
        }
        defer { git_reference_free(reference) }
        guard code < 0 else { return }
        var error = GitError.lastError(code, operation: operation)
        if code == GIT_EEXISTS.rawValue || code == GIT_EMODIFIED.rawValue || code == GIT_ENOTFOUND.rawValue {
            // Missing when expected, present when expected missing, or moved: a lost race either way.
            let current = (try? lookupReference(name)).flatMap { $0?.hex } ?? "nothing"
            error.kind = .refused
            error.message = "\(name) points at \(current), not at \(expected?.hex ?? "nothing") (\(error.message))"
        }
        throw error
    }

    /// Deletes a reference; deleting a missing reference does nothing.
    public func deleteReference(_ name: String) throws {
        let operation = "deleteReference"
        try validateReferenceName(name, operation: operation)
        var reference: OpaquePointer?
        git_error_clear()
        let code = git_reference_lookup(&reference, pointer, name)
        if code == GIT_ENOTFOUND.rawValue { return }
        if code < 0 { throw GitError.lastError(code, operation: operation) }
        defer { git_reference_free(reference) }
        try gitCall(operation) { git_reference_delete(reference) }
    }

    /// Names of the references under a prefix such as "refs/heads/", sorted.
    public func referenceNames(prefix: String = "refs/") throws -> [String] {
        var names = git_strarray()
        try gitCall("listReferences") { git_reference_list(&names, pointer) }
        defer { git_strarray_dispose(&names) }
        var result: [String] = []
        for index in 0..<names.count {
            if let name = names.strings[index].map({ String(cString: $0) }), name.hasPrefix(prefix) {
                result.append(name)
            }
        }
        return result.sorted()
    }

    /// Removes what an interrupted process may leave behind: `*.lock` files of references, of
    /// `packed-refs`, `HEAD` and `config` (libgit2 would report them as `.locked`), and temporary
    /// push references. Returns the paths removed, relative to the repository.
    /// Call it only while holding the `CacheLock`: a live writer's lock files look the same.
    @discardableResult
    public func removeStaleLeftovers() throws -> [String] {
        var removed: [String] = []
        let fileManager = FileManager.default
        for name in ["HEAD.lock", "config.lock", "packed-refs.lock"]
        where fileManager.fileExists(atPath: "\(path)/\(name)") {
            try? fileManager.removeItem(atPath: "\(path)/\(name)")
            removed.append(name)
        }
        if let walker = fileManager.enumerator(atPath: "\(path)/refs") {
            for case let relative as String in walker where relative.hasSuffix(".lock") {
                try? fileManager.removeItem(atPath: "\(path)/refs/\(relative)")
                removed.append("refs/\(relative)")
            }
        }
        for name in try referenceNames(prefix: Self.temporaryPushPrefix) {
            try deleteReference(name)
            removed.append(name)
        }
        return removed
    }

    func validateReferenceName(_ name: String, operation: String) throws {
        var valid: Int32 = 0
        try gitCall(operation) { git_reference_name_is_valid(&valid, name) }
        guard valid == 1, name.hasPrefix("refs/") else {
            throw GitError(kind: .invalidInput, message: "invalid reference name \(name.debugDescription)",
                           operation: operation)
        }
    }

    /// Whether the object database holds `id`.
    public func contains(_ id: ObjectID) throws -> Bool {
        var odb: OpaquePointer?
        try gitCall("contains") { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        var oid = id.oid
        return git_odb_exists(odb, &oid) == 1
    }
}

/// Commits: reading them and walking their history.
extension Repository {
    public func commit(_ id: ObjectID) throws -> CommitInfo {
        let commit = try lookupCommit(id, operation: "commit")
        defer { git_commit_free(commit) }
        return commitInfo(commit)
    }

    /// Newest first, following first parents only; at most `limit` commits.
    public func log(from: ObjectID, limit: Int) throws -> [CommitInfo] {
        var result: [CommitInfo] = []
        var next: ObjectID? = from
        while let id = next, result.count < limit {
            let info = try commit(id)
            result.append(info)
            next = info.parents.first
        }
        return result
    }

    /// Whether `commit` has `ancestor` in its history. A commit counts as its own descendant
    /// (like `git merge-base --is-ancestor`), unlike `git_graph_descendant_of`.
    public func isDescendant(_ commit: ObjectID, of ancestor: ObjectID) throws -> Bool {
        if commit == ancestor { return true }
        var commitOID = commit.oid
        var ancestorOID = ancestor.oid
        let code = try gitCall("isDescendant") { git_graph_descendant_of(pointer, &commitOID, &ancestorOID) }
        return code == 1
    }

    func lookupCommit(_ id: ObjectID, operation: String) throws -> OpaquePointer {
        var oid = id.oid
        var commit: OpaquePointer?
        try gitCall(operation) { git_commit_lookup(&commit, pointer, &oid) }
        guard let commit else {
            throw GitError(kind: .other, message: "libgit2 returned no commit", operation: operation)
        }
        return commit
    }

    private func commitInfo(_ commit: OpaquePointer) -> CommitInfo {
        let parents = (0..<git_commit_parentcount(commit)).compactMap { index in
            git_commit_parent_id(commit, index).map(ObjectID.init)
        }
        return CommitInfo(
            id: ObjectID(git_commit_id(commit)),
            parents: parents,
            tree: ObjectID(git_commit_tree_id(commit)),
            message: git_commit_message(commit).map { String(cString: $0) } ?? "",
            author: Signature(git_commit_author(commit)),
            committer: Signature(git_commit_committer(commit)))
    }
}

extension Signature {
    init(_ signature: UnsafePointer<git_signature>?) {
        guard let signature = signature?.pointee else {
            self.init(name: "", email: "", date: Date(timeIntervalSince1970: 0))
            return
        }
        self.init(
            name: signature.name.map { String(cString: $0) } ?? "",
            email: signature.email.map { String(cString: $0) } ?? "",
            date: Date(timeIntervalSince1970: TimeInterval(signature.when.time)),
            timeZoneOffsetMinutes: Int(signature.when.offset))
    }

    /// A libgit2 signature the caller frees with `git_signature_free`.
    func makeGitSignature(operation: String) throws -> UnsafeMutablePointer<git_signature> {
        var signature: UnsafeMutablePointer<git_signature>?
        let seconds = git_time_t(date.timeIntervalSince1970.rounded(.down))
        try gitCall(operation) {
            git_signature_new(&signature, name, email, seconds, Int32(timeZoneOffsetMinutes))
        }
        guard let signature else {
            throw GitError(kind: .other, message: "libgit2 returned no signature", operation: operation)
        }
        return signature
    }
}
