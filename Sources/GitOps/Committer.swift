import Foundation
import GitStore
import GitWire
import Logging
import Templates

/// The committer of one branch. Operations are queued (`BatchQueue`); a single git thread takes
/// everything queued as one batch and publishes it (`Publisher`): one commit per operation on
/// the tip, one compare-and-swap push per batch, a re-run on the new tip after a refusal, so no
/// acknowledged operation is ever dropped or overwritten. The cache (`CacheHandle`) is a copy
/// of the remote under a file lock, shared safely with other processes.
public final class Committer: @unchecked Sendable {
    public struct Settings: Sendable {
        public var remote: RemoteOptions
        public var branch: String
        public var cacheDirectory: URL
        public var author: (name: String, email: String)
        public var maxPushAttempts: Int
        public var maxBatch: Int
        public var lockTimeoutSeconds: Double
        /// Signs every commit (SSH, `gpgsig`) when set.
        public var signer: SSHSigner?
        /// The cache is packed once about this many new objects are in it (`CachePacker`).
        public var packLooseObjects: Int
        /// New objects are held in memory until packed instead of written as loose files
        /// (`MemoryObjects`): what a long-running server wants. `drain()` packs them.
        public var objectsInMemory = false
        /// Merges of packs up to this many objects run on the git thread; larger ones are
        /// written in the background (`CachePacker`).
        public var packInlineMergeObjects = 2_000

        /// `repository.packLooseObjects`'s default: about 10 deploys' objects (new trees are
        /// held uncompressed: about 1 MiB at 1,000 previews, 5 MiB at 10,000), packed in tens
        /// of milliseconds.
        public static let defaultPackLooseObjects = 128

        public init(remote: RemoteOptions, branch: String, cacheDirectory: URL, author: (name: String, email: String),
                    maxPushAttempts: Int = 20, maxBatch: Int = 256, lockTimeoutSeconds: Double = 120, signer: SSHSigner? = nil,
                    packLooseObjects: Int = Settings.defaultPackLooseObjects) {
            self.remote = remote; self.branch = branch; self.cacheDirectory = cacheDirectory; self.author = author
            self.maxPushAttempts = maxPushAttempts; self.maxBatch = maxBatch; self.lockTimeoutSeconds = lockTimeoutSeconds
            self.signer = signer; self.packLooseObjects = packLooseObjects
        }

        public init(config: ManifestorConfig) {
            self.init(remote: config.remote, branch: config.branch, cacheDirectory: config.cacheDirectory,
                      author: (config.author.name, config.author.email), maxPushAttempts: config.repository.maxPushAttempts ?? 20,
                      signer: config.signer, packLooseObjects: config.repository.packLooseObjects ?? Settings.defaultPackLooseObjects)
        }
    }

    public let settings: Settings
    private let logger: Logger
    private let queue: DispatchQueue
    private let batches: BatchQueue
    private let cache: CacheHandle
    private let publisher: Publisher
    /// Set once the remote has answered a fetch, a look at its tip or a push.
    private let reached: ReachedFlag
    /// What reads use beside the git thread (`Committer+Reads.swift`).
    let reads: ReadParts

    public var trackingRef: String { cache.trackingRef }

    public init(settings: Settings, catalog: @escaping @Sendable () throws -> Catalog, clock: @escaping @Sendable () -> Date = Date.init,
                logger: Logger = Logger(label: "manifestor.committer"), metrics: any CommitterMetrics = NoCommitterMetrics()) {
        self.settings = settings
        self.logger = logger
        queue = DispatchQueue(label: "manifestor.git.\(settings.branch)", qos: .userInitiated)
        batches = BatchQueue(maxBatch: settings.maxBatch)
        let reached = ReachedFlag()
        reads = ReadParts(settings: settings, logger: logger, reached: { reached.set() })
        cache = CacheHandle(remote: settings.remote, branch: settings.branch, directory: settings.cacheDirectory,
                            lockTimeoutSeconds: settings.lockTimeoutSeconds, packThreshold: settings.packLooseObjects,
                            inlineMerge: settings.packInlineMergeObjects, objectsInMemory: settings.objectsInMemory,
                            logger: logger, metrics: metrics,
                            tips: reads.tips, reached: { reached.set() })
        publisher = Publisher(cache: cache, settings: .init(author: settings.author, maxPushAttempts: settings.maxPushAttempts,
                                                            signer: settings.signer),
                              catalog: catalog, clock: clock, logger: logger, metrics: metrics)
        self.reached = reached
    }

    /// Queues `operation`, and answers once its commit is on the remote (or, having confirmed the
    /// remote's tip, once it is known to change nothing). `requestID` names the HTTP request in
    /// the log lines about its batch (by default the one the server set, `RequestID.current`).
    public func submit<Op: GitOperation>(_ operation: Op, requestID: String? = RequestID.current) async throws -> CommitOutcome<Op.Answer> {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CommitOutcome<Op.Answer>, Error>) in
            let item = Pending(
                name: operation.name,
                requestID: requestID,
                plan: { tree, context in
                    let plan = try operation.checkedPlan(tree, context)
                    return ErasedPlan(changes: plan.changes, message: plan.message, answer: plan.answer)
                },
                complete: { result in
                    continuation.resume(with: result.map { done in
                        CommitOutcome(commit: done.commit, changed: done.changed, answer: done.answer as! Op.Answer, subject: done.subject)
                    })
                })
            if batches.append(item) { queue.async { [self] in drainLoop() } }
        }
    }

    /// Runs `body` on the git thread with the tip, fetching first when `refresh` is set (readers
    /// that must see other writers' commits): where reads go when a reader beside the git
    /// thread cannot (`read`).
    func readOnGitThread<T: Sendable>(refresh: Bool = true, _ body: @escaping @Sendable (TreeSnapshot) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.async { [self] in
                continuation.resume(with: Result {
                    try cache.withLock { repo in
                        let tip = refresh ? try cache.fetch(repo) : try cache.knownTip(repo)
                        return try body(TreeSnapshot(repository: repo, commit: tip))
                    }
                }.mapError(availability(of:)))
            }
        }
    }

    /// Calls `observer` after every push of this committer that lands, on the git thread: it
    /// must hand the work elsewhere at once (the Argo CD notifier queues it).
    public func onLanded(_ observer: @escaping @Sendable (LandedPush) -> Void) {
        publisher.observers.add(observer)
    }

    /// Operations queued and not yet taken into a batch.
    public var queuedOperations: Int { batches.count }

    /// Whether the remote has answered at least once (readiness).
    public var isReady: Bool { reached.value }

    /// Checks the remote now (for `/readyz` before the first write): a look at its tip, beside
    /// the git thread.
    public func probe() async -> Bool {
        (try? await reads.check.tip()) != nil
    }

    /// Waits until everything queued so far has been answered; then, with objects held in
    /// memory, packs them, so that the next start finds the cache current.
    public func drain() async {
        await batches.waitUntilIdle()
        guard settings.objectsInMemory else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                do {
                    try cache.withLock { try cache.packNow($0) }
                } catch {
                    logger.warning("could not pack the cache before stopping; the next start fetches what it lacks",
                                   metadata: ["error": "\(error)"])
                }
                continuation.resume()
            }
        }
    }

    private func drainLoop() {
        while true {
            let batch = batches.takeOrStop()
            if batch.isEmpty {
                trimFreeMemory()
                return
            }
            publisher.run(batch, next: batches.take)
        }
    }
}

/// Whether the remote has answered, set from the git thread and read from anywhere.
private final class ReachedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var reached = false
    func set() { lock.withLock { reached = true } }
    var value: Bool { lock.withLock { reached } }
}
