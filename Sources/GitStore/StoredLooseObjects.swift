import CLibGit2
import Foundation
import GitWire

/// An object database backend that writes loose objects as zlib streams of stored (uncompressed)
/// deflate blocks, added to every `Repository` ahead of libgit2's own loose backend. A cache
/// that holds its new objects in memory (`MemoryObjects`, the server's) writes none; a CLI
/// run's cache does.
///
/// libgit2 deflates each loose object it writes (at `Z_BEST_SPEED`) and inflates it again on every
/// read. At 10,000 previews each commit writes a new 480 KB `preview/` tree, which is mostly
/// SHA-1s and barely compresses, and the committer reads it back right away (the next operation
/// of the batch, the thin pack of the push): compressing it was the largest single cost of a
/// deploy. The files stay ordinary loose objects (`git` and libgit2 read them as they read any
/// other), only larger by what zlib would have saved (about a third for YAML blobs).
///
/// libgit2's own loose backend cannot do this: it takes compression level 0 to mean "write the
/// bytes raw", which is not a zlib stream and leaves an object nobody can read.
enum StoredLooseObjects {
    /// Above libgit2's loose (1) and pack (2) backends, so that writes come here first.
    static let priority: Int32 = 3

    /// Adds the backend to `repository`'s object database and returns it (owned by the object
    /// database, valid while the repository is open). Reads stay with libgit2's backends.
    static func install(in repository: OpaquePointer, operation: String) throws -> UnsafeMutablePointer<git_odb_backend> {
        guard let gitPath = git_repository_path(repository) else {
            throw GitError(kind: .other, message: "libgit2 returned no repository path", operation: operation)
        }
        let objects = URL(fileURLWithPath: String(cString: gitPath)).appendingPathComponent("objects").path
        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, repository) }
        defer { git_odb_free(odb) }

        // The git_odb_backend comes first, the objects folder (a C string) right after it, then
        // the count of objects written and of their files' bytes (read by the cache's packing policy).
        let headerSize = MemoryLayout<git_odb_backend>.stride
        let memory = UnsafeMutableRawPointer.allocate(
            byteCount: headerSize + MemoryLayout<UnsafeMutablePointer<CChar>>.stride + 2 * MemoryLayout<Int>.stride,
            alignment: max(MemoryLayout<git_odb_backend>.alignment, MemoryLayout<UnsafeMutablePointer<CChar>>.alignment))
        let backend = memory.bindMemory(to: git_odb_backend.self, capacity: 1)
        guard git_odb_init_backend(backend, UInt32(GIT_ODB_BACKEND_VERSION)) == 0, let folder = strdup(objects) else {
            memory.deallocate()
            throw GitError(kind: .other, message: "could not set up the loose object writer", operation: operation)
        }
        (memory + headerSize).storeBytes(of: folder, as: UnsafeMutablePointer<CChar>.self)
        (memory + counterOffset).storeBytes(of: 0, as: Int.self)
        (memory + counterOffset + MemoryLayout<Int>.stride).storeBytes(of: 0, as: Int.self)
        backend.pointee.write = storedLooseWrite
        backend.pointee.free = storedLooseFree
        // On success the object database owns the backend and frees it with the repository.
        let code = git_odb_add_backend(odb, backend, priority)
        if code < 0 {
            storedLooseFree(backend)
            throw GitError.lastError(code, operation: operation)
        }
        return backend
    }

    private static var counterOffset: Int {
        MemoryLayout<git_odb_backend>.stride + MemoryLayout<UnsafeMutablePointer<CChar>>.stride
    }

    /// How many objects `backend` has written since it was installed. The repository is used
    /// by one thread at a time, so a plain counter is enough.
    static func written(by backend: UnsafeMutablePointer<git_odb_backend>) -> (objects: Int, bytes: Int) {
        let counters = UnsafeMutableRawPointer(backend) + counterOffset
        return (counters.load(as: Int.self), (counters + MemoryLayout<Int>.stride).load(as: Int.self))
    }

    fileprivate static func countWrite(_ backend: UnsafeMutablePointer<git_odb_backend>, bytes: Int) {
        let counters = UnsafeMutableRawPointer(backend) + counterOffset
        counters.storeBytes(of: counters.load(as: Int.self) + 1, as: Int.self)
        (counters + MemoryLayout<Int>.stride).storeBytes(of: (counters + MemoryLayout<Int>.stride).load(as: Int.self) + bytes, as: Int.self)
    }

    fileprivate static func objectsFolder(of backend: UnsafeMutablePointer<git_odb_backend>) -> String {
        let pointer = (UnsafeMutableRawPointer(backend) + MemoryLayout<git_odb_backend>.stride)
            .load(as: UnsafeMutablePointer<CChar>.self)
        return String(cString: pointer)
    }

    /// The loose file of one object: "<type> <size>\0<content>" as a zlib stream of stored
    /// blocks, built in one buffer with one copy of the content. Call `body` with it.
    static func withLooseFile<T>(type: String, content: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let header = Array("\(type) \(content.count)\0".utf8)
        let file = UnsafeMutableRawBufferPointer.allocate(
            byteCount: PackFormat.zlibStoredSize(header.count + content.count), alignment: 8)
        defer { file.deallocate() }
        let written = header.withUnsafeBytes { PackFormat.writeZlibStored([$0, content], into: file) }
        return body(UnsafeRawBufferPointer(rebasing: file[..<written]))
    }

    /// Writes `file` at `folder/xx/yyyy…` through a temporary file and a rename, read-only like
    /// every loose object. Returns an error message or nil.
    static func write(_ file: UnsafeRawBufferPointer, hex: String, folder: String) -> String? {
        let directory = folder + "/" + hex.prefix(2)
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            return "cannot create \(directory): \(String(cString: strerror(errno)))"
        }
        let final = directory + "/" + hex.dropFirst(2)
        var template = Array((directory + "/tmp_obj_XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { return "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))" }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var failure: String?
        var offset = 0
        while offset < file.count {
            let n = Foundation.write(fd, file.baseAddress! + offset, file.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                failure = "cannot write \(temporary): \(String(cString: strerror(errno)))"
                break
            }
            offset += n
        }
        if fchmod(fd, 0o444) != 0, failure == nil {
            failure = "cannot make \(temporary) read-only: \(String(cString: strerror(errno)))"
        }
        if close(fd) != 0, failure == nil {
            failure = "cannot write \(temporary): \(String(cString: strerror(errno)))"
        }
        if failure == nil, rename(temporary, final) != 0 {
            failure = "cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))"
        }
        if failure != nil { unlink(temporary) }
        return failure
    }
}

private let storedLooseWrite: @convention(c) (
    UnsafeMutablePointer<git_odb_backend>?, UnsafePointer<git_oid>?, UnsafeRawPointer?, Int, git_object_t
) -> Int32 = { backend, oid, data, length, type in
    guard let backend, let oid, let typeName = git_object_type2string(type) else { return -1 }
    let content = UnsafeRawBufferPointer(start: length == 0 ? nil : data, count: length)
    let hex = ObjectID(oid.pointee).hex
    let folder = StoredLooseObjects.objectsFolder(of: backend)
    var bytes = 0
    let failure = StoredLooseObjects.withLooseFile(type: String(cString: typeName), content: content) { file in
        bytes = file.count
        return StoredLooseObjects.write(file, hex: hex, folder: folder)
    }
    if let failure {
        git_error_set_str(Int32(GIT_ERROR_OS.rawValue), failure)
        return -1
    }
    StoredLooseObjects.countWrite(backend, bytes: bytes)
    return 0
}

private let storedLooseFree: @convention(c) (UnsafeMutablePointer<git_odb_backend>?) -> Void = { backend in
    guard let backend else { return }
    let raw = UnsafeMutableRawPointer(backend)
    free((raw + MemoryLayout<git_odb_backend>.stride).load(as: UnsafeMutablePointer<CChar>.self))
    raw.deallocate()
}
