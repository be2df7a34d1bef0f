import Foundation
import GitStore
import Logging

/// Keeps the cache small while it serves: once about `threshold` new objects (or
/// `thresholdBytes` of them) are in it, held in memory (`MemoryObjects`) or as loose files (a
/// CLI run's), they are written into one pack; then packs are merged geometrically (the smallest
/// ones, whenever one is not at least twice the size of all smaller ones together), so their
/// number grows with the logarithm of the history. Runs on the git thread, holding the cache's
/// lock, between batches. A merge of more than `inlineMerge` objects (which re-computes every
/// delta, about a tenth of a millisecond an object) is written on a queue of its own instead,
/// while batches go on, and only moved in under the lock, so writes never wait for it.
///
/// Counting is cheap: objects in memory are counted as they are written, and the 256 fan-out
/// folders are walked only when this process cannot know the loose files (the repository was
/// just opened, or another process held the lock since); the objects this process wrote loose
/// are added up as they are written.
final class CachePacker {
    /// Below this many loose objects, nothing is packed.
    let threshold: Int
    /// Nor below this many bytes of new objects (held uncompressed: at 10,000 previews each
    /// commit's `preview/` tree is 480 KB, so the count alone would let about 5 MiB pile up).
    let thresholdBytes: Int
    /// Packs above this many objects are never merged again: merging re-computes every delta,
    /// so a merge of the whole history would stop writes for as long as that takes.
    let largestMerged: Int
    /// Merges of up to this many objects run on the git thread.
    let inlineMerge: Int
    /// How many times the thresholds packing waits for while requests are queued.
    static let busyFactor = 32
    /// The most bytes of new objects a burst of writes leaves unpacked.
    static let busyBytes = 16 << 20
    private let background = BackgroundMerge()
    private let logger: Logger
    private let metrics: any CommitterMetrics
    /// A test hook (`MANIFESTOR_TEST_PACKING_PAUSE=<run>-<stage>:<file>`): stop packing for good at
    /// that point, after creating the file, so that a test can kill the process right there.
    private let pause: (point: String, marker: String)?
    /// The repository the count below belongs to, the loose objects counted in it, and its
    /// writer's counter at that time.
    private var counted: (repository: ObjectIdentifier, loose: Int, bytes: Int, written: (objects: Int, bytes: Int))?
    private var fetchesSinceMergeCheck = 0

    init(threshold: Int, thresholdBytes: Int = 2 << 20, largestMerged: Int = 1_000_000, inlineMerge: Int = 2_000, logger: Logger, metrics: any CommitterMetrics,
         environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.threshold = threshold; self.thresholdBytes = thresholdBytes; self.largestMerged = largestMerged; self.inlineMerge = inlineMerge
        self.logger = logger; self.metrics = metrics
        pause = environment["MANIFESTOR_TEST_PACKING_PAUSE"].flatMap { value in
            let parts = value.split(separator: ":", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
    }

    /// Another process may have written to the cache, or the repository was opened anew:
    /// count again before deciding.
    func othersMayHaveWritten() { counted = nil }

    /// A fetch may have added a pack.
    func fetched() { fetchesSinceMergeCheck += 1 }

    /// The new objects in `repo` (loose files and those held in memory) and their bytes, as far
    /// as this process knows.
    func looseEstimate(_ repo: Repository) -> (objects: Int, bytes: Int) {
        let identity = ObjectIdentifier(repo)
        if counted?.repository != identity {
            let (count, bytes, removed) = repo.countLooseObjects()
            if !removed.isEmpty {
                logger.notice("removed leftovers of a killed process", metadata: ["paths": "\(removed)"])
            }
            counted = (identity, count, bytes, repo.looseWritten)
        }
        let now = repo.looseWritten
        let held = repo.memoryObjects?.count ?? (objects: 0, bytes: 0)
        return (counted!.loose + now.objects - counted!.written.objects + held.objects,
                counted!.bytes + now.bytes - counted!.written.bytes + held.bytes)
    }

    /// Writes every new object into a pack now, whatever the thresholds say (a flush before the
    /// process stops or fetches); `installed` as in `Repository.packNewObjects`.
    func packNow(_ repo: Repository, installed: () throws -> Void) throws {
        let start = ContinuousClock.now
        if let packed = try packNew(repo, installed: installed) {
            report(packed: packed, merged: nil, repo: repo, start: start)
        }
    }

    /// Packs the new objects, leaving the count as if it had (a failure too: the next attempt
    /// then waits for `threshold` more objects).
    private func packNew(_ repo: Repository, installed: () throws -> Void) throws -> PackingReport? {
        counted = (ObjectIdentifier(repo), 0, 0, repo.looseWritten)
        return try repo.packNewObjects(checkpoint: { checkpoint("new", $0) }, installed: installed)
    }

    /// The temporary folder of a background merge under way, which the lock holder must not
    /// take for a leftover.
    var busyFolders: Set<String> { background.isRunning ? [PackDirectory.backgroundFolder] : [] }

    /// Packs `repo` when it is due. True when packs were merged (and deleted), so a fresh
    /// instance of the repository would map less. A failure leaves the count as if it had
    /// packed, so that the next attempt waits for `threshold` more objects.
    ///
    /// `busy`: requests are waiting. Packing then waits for many times the threshold, so that a
    /// burst of writes is not slowed by packing (and its memory) after every batch; the loose
    /// objects it leaves are packed once the queue is idle.
    func maintain(_ repo: Repository, busy: Bool = false, installed: () throws -> Void = {}) throws -> Bool {
        let loose = looseEstimate(repo)
        let factor = busy ? Self.busyFactor : 1
        // Objects held in memory count towards RSS: a burst holds at most `busyBytes` of them.
        let byteLimit = busy ? max(thresholdBytes, min(thresholdBytes * factor, Self.busyBytes)) : thresholdBytes
        let due = loose.objects >= threshold * factor || loose.bytes >= byteLimit
        let finished = background.takeFinished()
        let mergeCheck = fetchesSinceMergeCheck >= 16 || finished != nil
        guard due || mergeCheck else { return false }
        let start = ContinuousClock.now
        var packed: PackingReport?
        if due {
            packed = try packNew(repo, installed: installed)
        }
        fetchesSinceMergeCheck = 0
        var merged: PackingReport?
        if let finished {
            do {
                merged = try repo.installMergedPack(try finished.result.get(), replacing: finished.packs,
                                                    checkpoint: { checkpoint("merge", $0) })
            } catch {
                logger.warning("a merge of packs written in the background failed; trying again later", metadata: ["error": "\(error)"])
            }
        } else if !background.isRunning {
            let chosen = Self.packsToMerge(repo.packs(), largest: largestMerged)
            if chosen.count >= 2, chosen.reduce(0, { $0 + $1.objects }) <= inlineMerge {
                merged = try repo.mergePacks(chosen, checkpoint: { checkpoint("merge", $0) })
            } else if chosen.count >= 2 {
                background.start(path: repo.path, packs: chosen) { [self] in checkpoint("merge", $0) }
            }
        }
        if packed != nil || merged != nil {
            report(packed: packed, merged: merged, repo: repo, start: start)
        }
        return merged != nil
    }

    private func report(packed: PackingReport?, merged: PackingReport?, repo: Repository, start: ContinuousClock.Instant) {
        metrics.cachePacked(looseObjects: packed?.objects ?? 0, mergedPacks: merged?.removed ?? 0, seconds: seconds(since: start))
        logger.info("packed the cache", metadata: [
            "new_objects": "\(packed?.objects ?? 0)", "packs_merged": "\(merged?.removed ?? 0)",
            "merged_objects": "\(merged?.objects ?? 0)", "packs": "\(repo.packs().count)",
            "ms": "\(Int(seconds(since: start) * 1000))"])
    }

    /// The packs to merge, from `packs` (smallest first): the longest run of the smallest ones
    /// whose last is smaller than twice all before it together, leaving packs that each hold
    /// at least twice what all smaller packs hold. Packs over `largest` objects stay as they are.
    static func packsToMerge(_ packs: [PackInfo], largest: Int) -> [PackInfo] {
        let candidates = packs.filter { $0.objects <= largest }.sorted { $0.objects < $1.objects }
        var end = 0
        var total = 0
        for (index, pack) in candidates.enumerated() {
            if index > 0, pack.objects < 2 * total { end = index + 1 }
            total += pack.objects
        }
        var chosen = Array(candidates.prefix(end))
        // What merging them makes must stay under the bound as well.
        while chosen.count > 1, chosen.reduce(0, { $0 + $1.objects }) > largest { chosen.removeLast() }
        return chosen.count > 1 ? chosen : []
    }

    /// Called on the git thread or on the background merge's queue.
    private func checkpoint(_ run: String, _ stage: PackingStage) {
        guard let pause, pause.point == "\(run)-\(stage.rawValue)" else { return }
        _ = FileManager.default.createFile(atPath: pause.marker, contents: Data("\(getpid())\n".utf8))
        logger.warning("packing paused for good by MANIFESTOR_TEST_PACKING_PAUSE", metadata: ["at": "\(pause.point)"])
        DispatchSemaphore(value: 0).wait()
    }
}

/// A merge of packs written on its own queue, with its own instance of the repository, while
/// the git thread goes on; the git thread moves it in (`Repository.installMergedPack`).
private final class BackgroundMerge: @unchecked Sendable {
    struct Finished {
        var packs: [PackInfo]
        var result: Result<WrittenPack, Error>
    }

    private let queue = DispatchQueue(label: "manifestor.pack-merge", qos: .utility)
    private let lock = NSLock()
    private var running = false
    private var finished: Finished?

    var isRunning: Bool { lock.withLock { running || finished != nil } }

    func start(path: String, packs: [PackInfo], checkpoint: @escaping (PackingStage) -> Void) {
        lock.withLock { running = true }
        nonisolated(unsafe) let checkpoint = checkpoint
        queue.async { [self] in
            let result = Result {
                try Repository.openOrCreateBare(at: path)
                    .writeMergedPack(packs, folder: PackDirectory.backgroundFolder, checkpoint: checkpoint)
            }
            lock.withLock { finished = Finished(packs: packs, result: result); running = false }
        }
    }

    /// The merge that finished since the last call, if any.
    func takeFinished() -> Finished? {
        lock.withLock {
            defer { finished = nil }
            return finished
        }
    }
}
