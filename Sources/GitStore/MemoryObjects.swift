import CLibGit2
import Foundation
import GitWire

/// The objects a cache's commits write, held in memory until they are packed, shared by every
/// `Repository` instance of that folder in this process (the git thread's, the readers', a
/// background merge's): an object database backend ahead of libgit2's own.
///
/// Writing each object as a loose file cost the cache a file created per object and deleted at
/// the next packing: about a dozen per deploy. On ext4 without a journal, every new inode is
/// found by scanning past the inodes deleted in the last minutes, so that churn made each file
/// slower to create the longer the cache served (in this folder, creating a dozen files went
/// from 0.9 ms to 17 ms within 70 s of such churn). In memory, a deploy writes no file; packing
/// writes one pack of everything new (`Repository.packNewObjects`), and only then are the objects
/// dropped from memory. Nothing is lost by a crash: every object a landed write made is on the
/// remote, and the cache's refs on disk only ever name objects on disk (`CacheHandle`).
public final class MemoryObjects: @unchecked Sendable {
    fileprivate struct Entry {
        var type: git_object_t
        var data: Data
    }

    private let lock = NSLock()
    private var entries: [ObjectID: Entry] = [:]
    private var totalBytes = 0

    /// The store of the repository folder at `path`, created when `create` is set.
    static func store(for path: String, create: Bool) -> MemoryObjects? {
        let key = URL(fileURLWithPath: path).standardizedFileURL.path
        return registryLock.withLock {
            if let store = registry[key] { return store }
            guard create else { return nil }
            let store = MemoryObjects()
            registry[key] = store
            return store
        }
    }

    /// Sets up the store of the repository folder at `path` before any instance of it is opened,
    /// so that every instance opened from now on in this process (a reader's too) shares it.
    public static func prepare(repositoryAt path: String) {
        _ = store(for: path, create: true)
    }

    nonisolated(unsafe) private static var registry: [String: MemoryObjects] = [:]
    private static let registryLock = NSLock()

    /// Objects held, and the bytes of their contents.
    public var count: (objects: Int, bytes: Int) { lock.withLock { (entries.count, totalBytes) } }

    /// The ids held.
    public var ids: [ObjectID] { lock.withLock { Array(entries.keys) } }

    /// Drops `ids` (they are on disk now, or no longer wanted).
    public func remove(_ ids: [ObjectID]) {
        lock.withLock {
            for id in ids {
                if let entry = entries.removeValue(forKey: id) { totalBytes -= entry.data.count }
            }
        }
    }

    fileprivate func put(_ id: ObjectID, _ type: git_object_t, _ data: Data) {
        lock.withLock {
            guard entries[id] == nil else { return }
            entries[id] = Entry(type: type, data: data)
            totalBytes += data.count
        }
    }

    fileprivate func get(_ id: ObjectID) -> Entry? {
        lock.withLock { entries[id] }
    }

    fileprivate func contains(_ id: ObjectID) -> Bool {
        lock.withLock { entries[id] != nil }
    }

    /// Adds the backend of this store to `repository`'s object database, above every other
    /// backend, so that writes come here and reads look here first.
    func install(in repository: OpaquePointer, operation: String) throws {
        var odb: OpaquePointer?
        try gitCall(operation) { git_repository_odb(&odb, repository) }
        defer { git_odb_free(odb) }
        let headerSize = MemoryLayout<git_odb_backend>.stride
        let memory = UnsafeMutableRawPointer.allocate(byteCount: headerSize + MemoryLayout<UnsafeRawPointer>.stride,
                                                      alignment: MemoryLayout<git_odb_backend>.alignment)
        let backend = memory.bindMemory(to: git_odb_backend.self, capacity: 1)
        guard git_odb_init_backend(backend, UInt32(GIT_ODB_BACKEND_VERSION)) == 0 else {
            memory.deallocate()
            throw GitError(kind: .other, message: "could not set up the in-memory object store", operation: operation)
        }
        (memory + headerSize).storeBytes(of: UnsafeRawPointer(Unmanaged.passRetained(self).toOpaque()), as: UnsafeRawPointer.self)
        backend.pointee.read = memoryRead
        backend.pointee.read_header = memoryReadHeader
        backend.pointee.write = memoryWrite
        backend.pointee.exists = memoryExists
        backend.pointee.free = memoryFree
        let code = git_odb_add_backend(odb, backend, Self.priority)
        if code < 0 {
            memoryFree(backend)
            throw GitError.lastError(code, operation: operation)
        }
    }

    /// Above libgit2's loose (1) and pack (2) backends and the loose writer (3).
    static let priority: Int32 = 4

    fileprivate static func of(_ backend: UnsafeMutablePointer<git_odb_backend>) -> MemoryObjects {
        let raw = (UnsafeMutableRawPointer(backend) + MemoryLayout<git_odb_backend>.stride).load(as: UnsafeRawPointer.self)
        return Unmanaged<MemoryObjects>.fromOpaque(raw).takeUnretainedValue()
    }
}

extension Repository {
    /// Reads (and, with `create`, writes) through the folder's objects in memory; without
    /// `create`, only when some instance of this process keeps them so (a reader's instance).
    func attachMemoryObjects(create: Bool, operation: String) throws {
        guard let store = MemoryObjects.store(for: path, create: create) else { return }
        try store.install(in: pointer, operation: operation)
        memoryObjects = store
    }
}

// No `read_prefix` or `exists_prefix`: Manifestor names objects by their full ids only.

/// Copies `data` into a buffer libgit2 frees.
private func handOver(_ data: Data, _ backend: UnsafeMutablePointer<git_odb_backend>) -> UnsafeMutableRawPointer? {
    guard let buffer = git_odb_backend_data_alloc(backend, max(1, data.count)) else { return nil }
    data.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: data.count) } }
    return buffer
}

private let notFound = Int32(GIT_ENOTFOUND.rawValue)

private let memoryRead: @convention(c) (
    UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<git_object_t>?,
    UnsafeMutablePointer<git_odb_backend>?, UnsafePointer<git_oid>?
) -> Int32 = { data, length, type, backend, oid in
    guard let backend, let oid, let entry = MemoryObjects.of(backend).get(ObjectID(oid.pointee)) else { return notFound }
    guard let buffer = handOver(entry.data, backend) else { return -1 }
    data?.pointee = buffer
    length?.pointee = entry.data.count
    type?.pointee = entry.type
    return 0
}

private let memoryReadHeader: @convention(c) (
    UnsafeMutablePointer<Int>?, UnsafeMutablePointer<git_object_t>?, UnsafeMutablePointer<git_odb_backend>?, UnsafePointer<git_oid>?
) -> Int32 = { length, type, backend, oid in
    guard let backend, let oid, let entry = MemoryObjects.of(backend).get(ObjectID(oid.pointee)) else { return notFound }
    length?.pointee = entry.data.count
    type?.pointee = entry.type
    return 0
}

private let memoryWrite: @convention(c) (
    UnsafeMutablePointer<git_odb_backend>?, UnsafePointer<git_oid>?, UnsafeRawPointer?, Int, git_object_t
) -> Int32 = { backend, oid, data, length, type in
    guard let backend, let oid else { return -1 }
    let content = length == 0 || data == nil ? Data() : Data(bytes: data!, count: length)
    MemoryObjects.of(backend).put(ObjectID(oid.pointee), type, content)
    return 0
}

private let memoryExists: @convention(c) (UnsafeMutablePointer<git_odb_backend>?, UnsafePointer<git_oid>?) -> Int32 = { backend, oid in
    guard let backend, let oid else { return 0 }
    return MemoryObjects.of(backend).contains(ObjectID(oid.pointee)) ? 1 : 0
}

private let memoryFree: @convention(c) (UnsafeMutablePointer<git_odb_backend>?) -> Void = { backend in
    guard let backend else { return }
    let raw = UnsafeMutableRawPointer(backend)
    Unmanaged<MemoryObjects>.fromOpaque((raw + MemoryLayout<git_odb_backend>.stride).load(as: UnsafeRawPointer.self)).release()
    raw.deallocate()
}
