import Foundation
import GitWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One pack of a repository's own object database: `objects/pack/<name>.pack` and its `.idx`.
public struct PackInfo: Sendable, Equatable {
    /// "pack-<40 hex>".
    public var name: String
    /// Objects in the pack (from its index).
    public var objects: Int
    /// Bytes of the `.pack` and the `.idx` together.
    public var bytes: Int
}

/// The files behind packing: loose objects in `objects/xx/`, packs in `objects/pack/`, read and
/// changed so that a process killed at any point leaves a repository git and libgit2 can read.
/// Everything that deletes or renames runs only under the cache's lock.
public enum PackDirectory {
    /// Where a pack is written before it is moved into `objects/pack/`: inside the repository
    /// (the same file system, so a rename moves it) but outside `objects/`, where no reader looks.
    static let temporaryFolder = "manifestor-packing.tmp"
    /// The same for a merge this process writes beside the lock holder
    /// (`Repository.writeMergedPack`), named after the process.
    public static var backgroundFolder: String { "manifestor-merging-\(getpid()).tmp" }

    /// The loose objects in `objects`' 256 fan-out folders (and, with `measure`, their files'
    /// bytes). `removeTemporaries`: unlink the `tmp_obj_*` files a killed writer left (only
    /// under the lock: a live writer's look the same).
    static func looseObjects(in objects: String, removeTemporaries: Bool, measure: Bool = false)
        -> (ids: [ObjectID], bytes: Int, removed: [String]) {
        var ids: [ObjectID] = []
        var bytes = 0
        var removed: [String] = []
        for byte in 0..<256 {
            let prefix = String(format: "%02x", byte)
            let folder = objects + "/" + prefix
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names {
                if name.count == 38, let id = ObjectID(hex: prefix + name) {
                    ids.append(id)
                    if measure { bytes += fileSize(folder + "/" + name) ?? 0 }
                } else if removeTemporaries, name.hasPrefix("tmp_obj_") {
                    unlink(folder + "/" + name)
                    removed.append("objects/\(prefix)/\(name)")
                }
            }
        }
        return (ids, bytes, removed)
    }

    /// Unlinks the loose files of `ids`, then the fan-out folders left empty.
    static func removeLoose(_ ids: [ObjectID], in objects: String) {
        var folders = Set<String>()
        for id in ids {
            let hex = id.hex
            let folder = objects + "/" + hex.prefix(2)
            unlink(folder + "/" + hex.dropFirst(2))
            folders.insert(folder)
        }
        for folder in folders { rmdir(folder) }
    }

    /// The complete packs (a `.pack` with its `.idx`) in `objects/pack`, smallest first.
    static func packs(in objects: String) -> [PackInfo] {
        let folder = objects + "/pack"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var packs: [PackInfo] = []
        for name in names where name.hasPrefix("pack-") && name.hasSuffix(".idx") {
            let base = String(name.dropLast(4))
            guard let count = indexObjectCount(folder + "/" + name),
                  let packSize = fileSize(folder + "/" + base + ".pack"), let indexSize = fileSize(folder + "/" + name)
            else { continue }
            packs.append(PackInfo(name: base, objects: count, bytes: packSize + indexSize))
        }
        return packs.sorted { ($0.objects, $0.name) < ($1.objects, $1.name) }
    }

    /// The ids a version-2 pack index lists (nil: not a version-2 index, or truncated).
    static func objectIDs(ofIndex path: String) -> [ObjectID]? {
        guard let data = FileManager.default.contents(atPath: path), let count = indexObjectCount(data) else { return nil }
        let start = 8 + 256 * 4
        guard data.count >= start + count * 20 else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<count).map { ObjectID(bytes: UnsafeRawBufferPointer(rebasing: raw[(start + $0 * 20)..<(start + $0 * 20 + 20)])) }
        }
    }

    private static func indexObjectCount(_ path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 8 + 256 * 4) else { return nil }
        return indexObjectCount(head)
    }

    /// The object count of a version-2 index: the last entry of its fan-out table.
    private static func indexObjectCount(_ data: Data) -> Int? {
        let bytes = [UInt8](data.prefix(8 + 256 * 4))
        guard bytes.count == 8 + 256 * 4, bytes[0..<8] == [0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2] else { return nil }
        return bytes[(8 + 255 * 4)..<(8 + 256 * 4)].reduce(0) { $0 << 8 | Int($1) }
    }

    private static func fileSize(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    /// Moves the pack `name` written (and flushed) in `temporary` into `objects/pack`: the `.pack` renamed before the `.idx` (readers find a pack through its index,
    /// so none sees a pack that is not complete), the folder flushed after each rename.
    static func install(_ name: String, from temporary: String, into objects: String) throws {
        let folder = objects + "/pack"
        for suffix in [".pack", ".idx"] {
            guard rename(temporary + "/" + name + suffix, folder + "/" + name + suffix) == 0 else {
                throw failure("cannot move \(name)\(suffix) into \(folder)")
            }
            try sync(folder)
        }
    }

    /// Deletes a pack: its index first (so no reader finds an index without its pack), then the rest.
    static func remove(_ name: String, in objects: String) {
        let base = objects + "/pack/" + name
        for suffix in [".idx", ".pack", ".rev", ".keep"] { unlink(base + suffix) }
    }

    /// Removes what a process killed while writing a pack leaves (packing's temporary folders,
    /// but not a background merge's of a live process other than this one, nor `keeping`;
    /// libgit2's temporary pack and index files of a fetch or a pack; a `.pack` whose `.idx` was
    /// never moved in, an `.idx` without its `.pack`). Returns the paths removed, relative to the
    /// repository. Only under the cache's lock.
    static func removeLeftovers(repository path: String, keeping: Set<String>) -> [String] {
        var removed: [String] = []
        let fileManager = FileManager.default
        for name in (try? fileManager.contentsOfDirectory(atPath: path)) ?? [] where !keeping.contains(name) {
            let stale: Bool
            if name == temporaryFolder {
                stale = true
            } else if name.hasPrefix("manifestor-merging-"), name.hasSuffix(".tmp"),
                      let pid = Int32(name.dropFirst("manifestor-merging-".count).dropLast(4)) {
                stale = pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)
            } else {
                stale = false
            }
            if stale, (try? fileManager.removeItem(atPath: path + "/" + name)) != nil { removed.append(name) }
        }
        let folder = path + "/objects/pack"
        let names = Set((try? fileManager.contentsOfDirectory(atPath: folder)) ?? [])
        for name in names {
            let stale: Bool
            if name.hasPrefix("pack_git2_") || name.hasPrefix("tmp_pack_") || name.hasPrefix("tmp_idx_") || name.hasSuffix(".lock") {
                stale = true
            } else if name.hasPrefix("pack-"), name.hasSuffix(".pack") {
                stale = !names.contains(String(name.dropLast(5)) + ".idx")
            } else if name.hasPrefix("pack-"), name.hasSuffix(".idx") {
                stale = !names.contains(String(name.dropLast(4)) + ".pack")
            } else {
                stale = false
            }
            if stale, (try? fileManager.removeItem(atPath: folder + "/" + name)) != nil {
                removed.append("objects/pack/" + name)
            }
        }
        return removed
    }

    /// `fsync(2)` of a file or a folder.
    static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("cannot open \(path)") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("cannot flush \(path) to disk") }
    }

    private static func failure(_ message: String) -> GitError {
        GitError(kind: .other, message: "\(message): \(String(cString: strerror(errno)))", operation: "pack")
    }
}
