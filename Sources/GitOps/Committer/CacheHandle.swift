import Foundation
import GitStore
import GitWire
import Logging

/// The local cache of one branch: a bare clone in `directory/repo.git` guarded by the file lock
/// `directory/manifestor.lock`, which other processes (a CLI beside the server) take too. It is
/// only a copy of the remote: one that a killed process left unusable is rebuilt, and it is
/// packed as it grows (`CachePacker`). Used on the committer's git thread only.
final class CacheHandle {
    let remote: RemoteOptions
    let branch: String
    let directory: URL
    let lockTimeoutSeconds: Double
    private let logger: Logger
    private let metrics: any CommitterMetrics
    private var repository: Repository?
    private let packer: CachePacker
    /// Set after packs were merged: the next run opens a fresh instance, which maps only the
    /// packs that are there.
    private var reopen = false
    /// Set when packing failed and left the cache unusable: the next run rebuilds it.
    private var rebuild = false
    /// Called whenever the remote has answered (readiness).
    private let reached: () -> Void
    /// Where the remote was seen last, for reads (`TipRecord`).
    private let tips: TipRecord
    /// New objects are held in memory until packed (`MemoryObjects`), not written as loose files.
    let objectsInMemory: Bool
    /// The last landed batch's head while its objects are held in memory only, and where the
    /// tracking ref on disk was then: the ref on disk names only objects on disk, so it is moved
    /// to `head` once they are packed. Nil when the ref on disk is current. Forgotten when the ref
    /// on disk moved meanwhile (another committer of the folder, in this process or another).
    private var memoryTip: (head: ObjectID, diskWas: ObjectID?)?

    var trackingRef: String { "refs/remotes/origin/\(branch)" }

    init(remote: RemoteOptions, branch: String, directory: URL, lockTimeoutSeconds: Double, packThreshold: Int,
         inlineMerge: Int, objectsInMemory: Bool, logger: Logger, metrics: any CommitterMetrics, tips: TipRecord,
         reached: @escaping () -> Void) {
        self.remote = remote; self.branch = branch; self.directory = directory; self.objectsInMemory = objectsInMemory
        self.lockTimeoutSeconds = lockTimeoutSeconds; self.logger = logger; self.metrics = metrics; self.reached = reached
        self.tips = tips
        packer = CachePacker(threshold: packThreshold, inlineMerge: inlineMerge, logger: logger, metrics: metrics)
        // Before any reader opens the folder: every instance of it must see the objects in memory.
        if objectsInMemory { MemoryObjects.prepare(repositoryAt: directory.appendingPathComponent("repo.git").path) }
    }

    /// Runs `body` holding the cache's file lock, with the repository opened (or rebuilt).
    func withLock<T>(_ body: (Repository) throws -> T) throws -> T {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lock = try CacheLock.acquire(path: directory.appendingPathComponent("manifestor.lock").path,
                                         timeoutSeconds: lockTimeoutSeconds)
        defer { lock.release() }
        if lock.previousOwner != getpid() {
            packer.othersMayHaveWritten()
            // Another process moved the ref on disk since, or not: either names a commit on disk
            // that the remote had, and a push from it that is behind is refused and fetched.
            memoryTip = nil
        }
        let repo = try open()
        // Holding the cache's lock, no other process writes to it: a `*.lock` file or a
        // temporary push ref in it was left by a killed process and would block ref updates,
        // and a half-written pack was left by one killed while packing.
        let removed = ((try? repo.removeStaleLeftovers()) ?? []) + repo.removePackingLeftovers(keeping: packer.busyFolders)
        if !removed.isEmpty {
            logger.notice("removed leftovers of a killed process", metadata: ["paths": "\(removed)"])
        }
        return try body(repo)
    }

    /// Whether the instance in use should be dropped for a fresh one before the next batch:
    /// packs were merged away, and libgit2 keeps every pack it opened (and up to 16 MiB of
    /// delta bases for each) for as long as the instance lives.
    var wantsFreshInstance: Bool { reopen || rebuild }

    /// Packs the cache when it is due (between batches, holding the lock). A cache that cannot
    /// be packed is logged; one left unusable is rebuilt from the remote by the next run.
    func maintain(_ repo: Repository, busy: Bool = false) {
        do {
            if try packer.maintain(repo, busy: busy, installed: { try writeTip(repo) }) { reopen = true }
        } catch {
            if usable(repo) {
                logger.warning("cache could not be packed; trying again later", metadata: ["error": "\(error)"])
            } else {
                logger.error("cache could not be packed and is unusable; rebuilding it from the remote", metadata: ["error": "\(error)"])
                rebuild = true
            }
        }
    }

    /// Packs every new object now and brings the tracking ref on disk to the last landed batch
    /// (before the process stops, or a fetch).
    func packNow(_ repo: Repository) throws {
        try packer.packNow(repo, installed: { try writeTip(repo) })
    }

    /// Moves the tracking ref on disk to `memoryTip`, whose objects are on disk now.
    private func writeTip(_ repo: Repository) throws {
        guard let tip = memoryTip else { return }
        memoryTip = nil
        let onDisk = try repo.lookupReference(trackingRef)
        guard onDisk == tip.diskWas, onDisk != tip.head else { return }
        try repo.updateReference(trackingRef, to: tip.head, expected: onDisk, message: "manifestor: pushed batches")
    }

    /// Whether the tracking ref's commit and its `preview/` tree can be read.
    private func usable(_ repo: Repository) -> Bool {
        do {
            guard let tip = try tip(repo) else { return true }
            _ = try repo.subdirectoryCount(commit: tip, path: "preview", prefix: "task-")
            return true
        } catch {
            return false
        }
    }

    /// The tracking ref's commit (nil: the branch does not exist yet).
    func tip(_ repo: Repository) throws -> ObjectID? {
        tip(onDisk: try repo.lookupReference(trackingRef))
    }

    /// The held head while the ref on disk is still `onDisk`'s value when it was held; else
    /// (forgetting the held head) `onDisk`.
    private func tip(onDisk: ObjectID?) -> ObjectID? {
        if let memoryTip {
            if memoryTip.diskWas == onDisk { return memoryTip.head }
            self.memoryTip = nil
        }
        return onDisk
    }

    /// The tracking ref's commit, fetched first when the cache has none.
    func knownTip(_ repo: Repository) throws -> ObjectID? {
        if let tip = try tip(repo) { return tip }
        return try fetch(repo)
    }

    /// Brings the tracking ref to the remote's branch; returns it.
    @discardableResult
    func fetch(_ repo: Repository) throws -> ObjectID? {
        // A fetch moves the ref on disk to the remote's tip without downloading what the cache
        // already has: held in memory, it must be on disk first.
        if (repo.memoryObjects?.count.objects ?? 0) > 0 || memoryTip != nil { try packNow(repo) }
        metrics.fetched()
        let start = ContinuousClock.now
        try repo.fetch(remote, refspecs: ["+refs/heads/\(branch):\(trackingRef)"])
        packer.fetched()
        metrics.fetchDuration(seconds: seconds(since: start))
        reached()
        let tip = try tip(repo)
        tips.seen(tip)
        countPreviews(repo, at: tip)
        return tip
    }

    /// Asks the remote where the branch is (its reference advertisement, one round trip) and
    /// compares with `tip`. A branch that vanished from the remote cannot be decided on.
    func remoteIsAt(_ tip: ObjectID?, _ repo: Repository) throws -> Bool {
        metrics.confirmed()
        let current = try repo.remoteReference(remote, "refs/heads/\(branch)")
        reached()
        if current == nil, let tip {
            throw UnavailableError(message: "refs/heads/\(branch) is gone from the remote (it was at \(tip.short))",
                                   retryAfterSeconds: 5)
        }
        if current == tip { tips.seen(tip) }
        return current == tip
    }

    /// Records that the batch built from `base` to `head`, changing the previews `previews`
    /// (task ids), is on the remote.
    func landed(_ repo: Repository, head: ObjectID, base: ObjectID?, previews: Set<String>) throws {
        reached()
        if objectsInMemory {
            let onDisk = try repo.lookupReference(trackingRef)
            let current = tip(onDisk: onDisk)
            guard current == base else {
                throw GitError(kind: .refused, message: "the tracking ref is at \(current?.short ?? "nothing"), not \(base?.short ?? "nothing")",
                               operation: "landed")
            }
            memoryTip = (head, onDisk)
        } else {
            try repo.updateReference(trackingRef, to: head, expected: base, message: "manifestor: pushed batch")
        }
        tips.landed(base: base, head: head, changed: previews)
        countPreviews(repo, at: head)
    }

    /// Reports the preview directories at `commit`, counted in the raw `preview/` tree (no
    /// parse by libgit2, no entry per preview), cheap enough for every landed commit, so the
    /// gauge is current without anyone listing previews.
    private func countPreviews(_ repo: Repository, at commit: ObjectID?) {
        guard let commit else { return metrics.livePreviews(0) }
        metrics.livePreviews((try? repo.subdirectoryCount(commit: commit, path: "preview", prefix: "task-")) ?? 0)
    }

    private func open() throws -> Repository {
        let path = directory.appendingPathComponent("repo.git").path
        if rebuild {
            rebuild = false
            repository = nil
            memoryTip = nil
            try? FileManager.default.removeItem(atPath: path)
        }
        if reopen {
            reopen = false
            repository = nil
        }
        if let repository { return repository }
        do {
            let repo = try Repository.openOrCreateBare(at: path, objectsInMemory: objectsInMemory)
            _ = try repo.lookupReference(trackingRef)
            repository = repo
            packer.othersMayHaveWritten()
            return repo
        } catch {
            logger.warning("cache unusable, rebuilding", metadata: ["path": "\(path)", "error": "\(error)"])
            memoryTip = nil
            try? FileManager.default.removeItem(atPath: path)
            let repo = try Repository.openOrCreateBare(at: path, objectsInMemory: objectsInMemory)
            repository = repo
            packer.othersMayHaveWritten()
            return repo
        }
    }
}
