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
    /// The objects written through this instance's loose-object writer since it was opened.
    public var looseObjectsWritten: Int {
        looseWriter.map(StoredLooseObjects.written(by:)) ?? 0
    }

    var objectsFolder: String { path + "/objects" }

    /// Counts the loose objects (a walk of the 256 fan-out folders; call it rarely) and removes
    /// the temporary files a killed writer left among them.
    public func countLooseObjects() -> (count: Int, removed: [String]) {
        let loose = PackDirectory.looseObjects(in: objectsFolder, removeTemporaries: true)
        return (loose.ids.count, loose.removed)
    }

    /// The repository's own complete packs, smallest first.
    public func packs() -> [PackInfo] {
        PackDirectory.packs(in: objectsFolder)
    }

    /// Removes what a process killed while packing or fetching left (see
    /// `PackDirectory.removeLeftovers`); returns the paths, relative to the repository.
    @discardableResult
    public func removePackingLeftovers() -> [String] {
        PackDirectory.removeLeftovers(repository: path)
    }

    /// Writes every loose object into one new pack, then deletes those loose files. Nil when
    /// there was nothing loose.
    public func packLooseObjects(checkpoint: (PackingStage) -> Void = { _ in }) throws -> PackingReport? {
        let ids = PackDirectory.looseObjects(in: objectsFolder, removeTemporaries: true).ids
        guard !ids.isEmpty else { return nil }
        let name = try writePack(ids, checkpoint: checkpoint)
        PackDirectory.removeLoose(ids, in: objectsFolder)
        return PackingReport(pack: name, objects: ids.count, removed: ids.count)
    }

    /// Writes the objects of `packs` into one new pack, then deletes those packs.
    public func mergePacks(_ packs: [PackInfo], checkpoint: (PackingStage) -> Void = { _ in }) throws -> PackingReport {
        var ids = Set<ObjectID>()
        for pack in packs {
            guard let listed = PackDirectory.objectIDs(ofIndex: objectsFolder + "/pack/" + pack.name + ".idx") else {
                throw GitError(kind: .other, message: "cannot read the index of \(pack.name)", operation: "pack")
            }
            ids.formUnion(listed)
        }
        let name = try writePack(Array(ids), checkpoint: checkpoint)
        for pack in packs where pack.name != name {
            PackDirectory.remove(pack.name, in: objectsFolder)
        }
        return PackingReport(pack: name, objects: ids.count, removed: packs.count)
    }

    /// Builds a pack of exactly `ids` and moves it into `objects/pack`; returns its name.
    private func writePack(_ ids: [ObjectID], checkpoint: (PackingStage) -> Void) throws -> String {
        let operation = "pack"
        var builder: OpaquePointer?
        try gitCall(operation) { git_packbuilder_new(&builder, pointer) }
        defer { git_packbuilder_free(builder) }
        // One thread: the machine's other cores serve requests meanwhile.
        git_packbuilder_set_threads(builder, 1)
        for id in ids {
            var oid = id.oid
            try gitCall(operation) { git_packbuilder_insert(builder, &oid, nil) }
        }
        let temporary = path + "/" + PackDirectory.temporaryFolder
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        try gitCall(operation) { git_packbuilder_write(builder, temporary, 0o444, nil, nil) }
        guard let hex = git_packbuilder_name(builder) else {
            throw GitError(kind: .other, message: "libgit2 named no pack", operation: operation)
        }
        let name = "pack-" + String(cString: hex)
        checkpoint(.written)
        try PackDirectory.install(name, from: temporary, into: objectsFolder)
        // libgit2 finds the new pack before anything it holds is deleted.
        try refreshObjects()
        checkpoint(.installed)
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
