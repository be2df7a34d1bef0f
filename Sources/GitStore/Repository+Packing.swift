import CLibGit2
import Foundation
import GitWire

/// The points of a packing run, in order, for a caller that wants to watch it (tests stop a
/// process at one of them to check that a crash there leaves a usable repository).
public enum PackingStage: String, Sendable {
    /// The new pack and its index are complete in the temporary folder, nothing moved yet.
    case written
    /// The new pack and its index are in `objects/pack`; nothing deleted yet.
    case installed
}

/// A pack written in a temporary folder of the repository, not yet moved into `objects/pack`.
public struct WrittenPack: Sendable {
    public var name: String
    /// The folder, relative to the repository.
    public var folder: String
    public var objects: Int
}

/// What one packing run did.
public struct PackingReport: Sendable {
    /// The new pack ("pack-<hex>").
    public var pack: String
    /// Objects written into it.
    public var objects: Int
    /// Loose objects or packs deleted because the new pack holds them.
    public var removed: Int
}

/// Packing the local object database: loose objects into a pack, small packs into one. Each
/// run writes its pack to a temporary folder with libgit2's pack builder (deltas and zlib,
/// which loose objects do not have), moves it into `objects/pack` (flushed, `.pack` before
/// `.idx`), and only then deletes what the pack holds. Objects of an alternate object database
/// are never loose or packed here, so they are never copied. Call every method here only while
/// holding the `CacheLock`: another writer's files would look like leftovers.
extension Repository {
    /// The objects written through this instance's loose-object writer since it was opened,
    /// and the bytes of their files.
    public var looseWritten: (objects: Int, bytes: Int) {
        looseWriter.map(StoredLooseObjects.written(by:)) ?? (0, 0)
    }

    var objectsFolder: String { path + "/objects" }

    /// Counts the loose objects (a walk of the 256 fan-out folders; call it rarely) and removes
    /// the temporary files a killed writer left among them.
    public func countLooseObjects() -> (count: Int, bytes: Int, removed: [String]) {
        let loose = PackDirectory.looseObjects(in: objectsFolder, removeTemporaries: true, measure: true)
        return (loose.ids.count, loose.bytes, loose.removed)
    }

    /// The repository's own complete packs, smallest first.
    public func packs() -> [PackInfo] {
        PackDirectory.packs(in: objectsFolder)
    }

    /// Removes what a process killed while packing or fetching left (see
    /// `PackDirectory.removeLeftovers`), but not the temporary folders in `keeping` (a merge
    /// under way in the background); returns the paths, relative to the repository.
    @discardableResult
    public func removePackingLeftovers(keeping: Set<String> = []) -> [String] {
        PackDirectory.removeLeftovers(repository: path, keeping: keeping)
    }

    /// Writes every new object (those held in memory and the loose files) into one new pack,
    /// calls `installed` once the pack is in place (the caller may then name its objects in a
    /// ref), then deletes those loose files and drops those objects from memory. Nil when there
    /// was nothing new.
    public func packNewObjects(checkpoint: (PackingStage) -> Void = { _ in },
                               installed: () throws -> Void = {}) throws -> PackingReport? {
        let loose = PackDirectory.looseObjects(in: objectsFolder, removeTemporaries: true).ids
        let held = memoryObjects?.ids ?? []
        guard !loose.isEmpty || !held.isEmpty else {
            try installed()
            return nil
        }
        let ids = Array(Set(loose).union(held))
        let name = try writePack(ids, checkpoint: checkpoint)
        try installed()
        PackDirectory.removeLoose(loose, in: objectsFolder)
        memoryObjects?.remove(held)
        return PackingReport(pack: name, objects: ids.count, removed: ids.count)
    }

    /// Writes the objects of `packs` into one new pack, then deletes those packs.
    public func mergePacks(_ packs: [PackInfo], checkpoint: (PackingStage) -> Void = { _ in }) throws -> PackingReport {
        let written = try writeMergedPack(packs, folder: PackDirectory.temporaryFolder, checkpoint: checkpoint)
        return try installMergedPack(written, replacing: packs, checkpoint: checkpoint)
    }

    /// The first half of `mergePacks`: the pack of `packs`' objects, written in the temporary
    /// `folder` of the repository (nothing in `objects/` changes). It only reads packs, which
    /// nobody changes, so it may run without the lock on its own `Repository` instance while
    /// the lock holder writes; if another process deletes those packs meanwhile, it fails.
    public func writeMergedPack(_ packs: [PackInfo], folder: String, checkpoint: (PackingStage) -> Void = { _ in }) throws -> WrittenPack {
        var ids = Set<ObjectID>()
        for pack in packs {
            guard let listed = PackDirectory.objectIDs(ofIndex: objectsFolder + "/pack/" + pack.name + ".idx") else {
                throw GitError(kind: .other, message: "cannot read the index of \(pack.name)", operation: "pack")
            }
            ids.formUnion(listed)
        }
        let name = try writePack(Array(ids), folder: folder)
        checkpoint(.written)
        return WrittenPack(name: name, folder: folder, objects: ids.count)
    }

    /// The second half of `mergePacks`, under the lock: moves the written pack in, then deletes
    /// `packs` (whatever of them is still there).
    public func installMergedPack(_ written: WrittenPack, replacing packs: [PackInfo],
                                  checkpoint: (PackingStage) -> Void = { _ in }) throws -> PackingReport {
        let temporary = path + "/" + written.folder
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        try PackDirectory.install(written.name, from: temporary, into: objectsFolder)
        try refreshObjects()
        checkpoint(.installed)
        for pack in packs where pack.name != written.name {
            PackDirectory.remove(pack.name, in: objectsFolder)
        }
        return PackingReport(pack: written.name, objects: written.objects, removed: packs.count)
    }

    /// Builds a pack of exactly `ids` and moves it into `objects/pack`; returns its name.
    private func writePack(_ ids: [ObjectID], checkpoint: (PackingStage) -> Void) throws -> String {
        let folder = PackDirectory.temporaryFolder
        let temporary = path + "/" + folder
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let name = try writePack(ids, folder: folder)
        checkpoint(.written)
        try PackDirectory.install(name, from: temporary, into: objectsFolder)
        // libgit2 finds the new pack before anything it holds is deleted.
        try refreshObjects()
        checkpoint(.installed)
        return name
    }

    /// Builds a pack of exactly `ids` and its index in the repository's (new) temporary
    /// `folder`, both flushed to disk; returns the pack's name.
    private func writePack(_ ids: [ObjectID], folder: String) throws -> String {
        let operation = "pack"
        var builder: OpaquePointer?
        try gitCall(operation) { git_packbuilder_new(&builder, pointer) }
        defer { git_packbuilder_free(builder) }
        // One thread: the machine's other cores serve requests meanwhile.
        git_packbuilder_set_threads(builder, 1)
        // In history's order and named as git names them, so that each version of a file or a
        // directory is a small delta of the one before (see `packOrder`).
        for entry in packOrder(ids) {
            var oid = entry.id.oid
            try gitCall(operation) { git_packbuilder_insert(builder, &oid, entry.name) }
        }
        let temporary = path + "/" + folder
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        try gitCall(operation) { git_packbuilder_write(builder, temporary, 0o444, nil, nil) }
        guard let hex = git_packbuilder_name(builder) else {
            throw GitError(kind: .other, message: "libgit2 named no pack", operation: operation)
        }
        let name = "pack-" + String(cString: hex)
        try PackDirectory.sync(temporary + "/" + name + ".pack")
        try PackDirectory.sync(temporary + "/" + name + ".idx")
        return name
    }

    /// Has libgit2 look at `objects/pack` again (a new pack; deleted loose files).
    private func refreshObjects() throws {
        var odb: OpaquePointer?
        try gitCall("pack") { git_repository_odb(&odb, pointer) }
        defer { git_odb_free(odb) }
        try gitCall("pack") { git_odb_refresh(odb) }
    }
}
