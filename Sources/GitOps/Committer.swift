import Foundation
import GitStore
import KubeModel
import Logging
import Templates

/// What a caller gets back: its own commit, or the current tip and `changed: false`.
public struct CommitOutcome<Answer: Sendable>: Sendable {
    public var commit: ObjectID?
    public var changed: Bool
    public var answer: Answer
    /// The subject of the commit this operation made (or would have made).
    public var subject: String
}

/// The remote could not be reached or kept refusing: worth retrying later (503).
public struct UnavailableError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var retryAfterSeconds: Int
    public var description: String { message }
}

/// The committer of one branch. Operations are queued; a single git thread takes everything
/// queued as one batch, applies each operation as its own commit on the tip, and pushes the
/// batch once. A refused push (someone else moved the branch) leads to a fetch, a re-run of
/// the whole batch on the new tip, and a bounded retry with jittered backoff, so no
/// acknowledged operation is ever dropped or overwritten.
public final class Committer: @unchecked Sendable {
    public struct Settings: Sendable {
        public var remote: RemoteOptions
        public var branch: String
        public var cacheDirectory: URL
        public var author: (name: String, email: String)
        public var maxPushAttempts: Int
        public var maxBatch: Int
        public var lockTimeoutSeconds: Double

        public init(remote: RemoteOptions, branch: String, cacheDirectory: URL, author: (name: String, email: String),
                    maxPushAttempts: Int = 20, maxBatch: Int = 256, lockTimeoutSeconds: Double = 120) {
            self.remote = remote; self.branch = branch; self.cacheDirectory = cacheDirectory; self.author = author
            self.maxPushAttempts = maxPushAttempts; self.maxBatch = maxBatch; self.lockTimeoutSeconds = lockTimeoutSeconds
        }

        public init(config: ManifestorConfig) {
            self.init(remote: config.remote, branch: config.branch, cacheDirectory: config.cacheDirectory,
                      author: (config.author.name, config.author.email), maxPushAttempts: config.repository.maxPushAttempts ?? 20)
        }
    }

    public let settings: Settings
    private let catalog: @Sendable () throws -> Catalog
    private let clock: @Sendable () -> Date
    private let logger: Logger
    private let queue: DispatchQueue
    /// Where a pipelined batch's push runs while the next batch is built (see `process`).
    private let pushQueue: DispatchQueue
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var draining = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private var repository: Repository?
    /// Set once the remote has answered a fetch or push.
    private var reachedRemote = false

    private let metrics: any CommitterMetrics

    public var trackingRef: String { "refs/remotes/origin/\(settings.branch)" }

    public init(settings: Settings, catalog: @escaping @Sendable () throws -> Catalog, clock: @escaping @Sendable () -> Date = Date.init,
                logger: Logger = Logger(label: "manifestor.committer"), metrics: any CommitterMetrics = NoCommitterMetrics()) {
        self.settings = settings
        self.metrics = metrics
        self.catalog = catalog
        self.clock = clock
        self.logger = logger
        self.queue = DispatchQueue(label: "manifestor.git.\(settings.branch)", qos: .userInitiated)
        self.pushQueue = DispatchQueue(label: "manifestor.push.\(settings.branch)", qos: .userInitiated)
    }

    // MARK: - Submitting

    /// Queues `operation`, and answers once its commit is on the remote (or it changed nothing).
    public func submit<Op: GitOperation>(_ operation: Op) async throws -> CommitOutcome<Op.Answer> {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<CommitOutcome<Op.Answer>, Error>) in
            let item = Pending(
                name: operation.name,
                plan: { tree, context in
                    let plan = try operation.plan(tree, context)
                    return ErasedPlan(changes: plan.changes, message: plan.message, answer: plan.answer)
                },
                complete: { result in
                    switch result {
                    case .success(let done):
                        continuation.resume(returning: CommitOutcome(commit: done.commit, changed: done.changed, answer: done.answer as! Op.Answer, subject: done.subject))
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    }
                })
            enqueue(item)
        }
    }

    /// Runs `body` on the git thread with the repository and the tip, fetching first when
    /// `refresh` is set (readers that must see other writers' commits).
    public func read<T: Sendable>(refresh: Bool = true, _ body: @escaping @Sendable (TreeSnapshot) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.async { [self] in
                do {
                    let value = try withCacheLock { repo in
                        let known = try repo.lookupReference(trackingRef)
                        if refresh || known == nil { try fetch(repo) }
                        return try body(TreeSnapshot(repository: repo, commit: try repo.lookupReference(trackingRef)))
                    }
                    continuation.resume(returning: value)
                } catch {
                    continuation.resume(throwing: mapGitError(error))
                }
            }
        }
    }

    /// Operations queued and not yet taken into a batch.
    public var queuedOperations: Int { lock.withLock { pending.count } }

    /// Whether the remote has answered at least once (readiness).
    public var isReady: Bool { lock.withLock { reachedRemote } }

    /// Checks the remote now (for `/readyz` before the first write).
    public func probe() async -> Bool {
        (try? await read(refresh: true) { _ in true }) ?? false
    }

    /// Waits until everything queued so far has been answered.
    public func drain() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = lock.withLock { () -> Bool in
                if pending.isEmpty && !draining { return true }
                idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func enqueue(_ item: Pending) {
        let start = lock.withLock { () -> Bool in
            pending.append(item)
            if draining { return false }
            draining = true
            return true
        }
        if start { queue.async { [self] in drainLoop() } }
    }

    private func drainLoop() {
        while true {
            let batch = lock.withLock { () -> [Pending] in
                let take = Array(pending.prefix(settings.maxBatch))
                pending.removeFirst(take.count)
                if take.isEmpty {
                    draining = false
                }
                return take
            }
            if batch.isEmpty {
                trimFreeMemory()
                let waiters = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
                    defer { idleWaiters = [] }
                    return idleWaiters
                }
                waiters.forEach { $0.resume() }
                return
            }
            process(batch)
        }
    }

    // MARK: - Batches

    /// Runs `first` and every batch queued behind it, holding the cache's lock.
    ///
    /// Pushes over smart HTTP are pipelined: while batch k is on the wire (network and server
    /// time, during which this thread would only wait), batch k+1 is built on k's head; it is
    /// pushed once k has landed, with k's head as its compare-and-swap base. If k does not land
    /// as built (refused, re-run on a new tip, or failed), k+1 is built again the plain way, so
    /// every answer still names a commit that is on the remote. Other transports push each
    /// batch before the next is built.
    private func process(_ first: [Pending]) {
        do {
            try withCacheLock { repo in pipeline(first: first, repo: repo) }
        } catch {
            fail(first, error)
        }
    }

    private func pipeline(first: [Pending], repo: Repository) {
        var batch = first
        var flight: Flight?
        while true {
            if batch.isEmpty {
                guard let landing = flight else { return }
                flight = nil
                _ = land(landing, repo: repo)
                batch = takeBatch()
                continue
            }
            metrics.batch(size: batch.count)
            do {
                let context = OperationContext(catalog: try catalog(), now: clock())
                let base = try flight?.built.head ?? currentTip(repo)
                let built = try build(batch, on: base, repo: repo, context: context)
                if let landing = flight {
                    flight = nil
                    if !land(landing, repo: repo) {
                        // Built on a head that did not reach the remote as it was.
                        try commitAndPush(batch, repo: repo, context: context)
                        batch = takeBatch()
                        continue
                    }
                }
                if let base, let head = built.head, head != base,
                   let prepared = try repo.preparePush(settings.remote, branch: settings.branch, commit: head, expected: base) {
                    metrics.pushed()
                    flight = Flight(batch: batch, built: built, context: context, prepared: prepared, queue: pushQueue)
                } else {
                    try commitAndPush(batch, repo: repo, context: context, prebuilt: built)
                }
            } catch {
                fail(batch, error)
            }
            batch = takeBatch()
        }
    }

    /// Waits for `flight`'s push and answers its operations. True when its commits reached the
    /// remote exactly as built (so a batch built on its head may follow).
    private func land(_ flight: Flight, repo: Repository) -> Bool {
        do {
            switch flight.wait() {
            case .success(true):
                try landed(flight.batch, flight.built, repo: repo, attempt: 1)
                return true
            case .success(false):
                // The server is better left to libgit2: the same commits, pushed the plain way.
                return try commitAndPush(flight.batch, repo: repo, context: flight.context, prebuilt: flight.built) == flight.built.head
            case .failure(let error as GitError) where error.kind == .refused:
                markReached()
                metrics.pushRefused()
                logger.notice("push refused; re-running on the new tip", metadata: ["attempt": "1", "reason": "\(error.message)"])
                try fetch(repo)
                try commitAndPush(flight.batch, repo: repo, context: flight.context)
                return false
            case .failure(let error):
                throw error
            }
        } catch {
            fail(flight.batch, error)
            return false
        }
    }

    /// Pushes `batch` (built first unless `prebuilt`), re-running it on the new tip after a
    /// refusal, and answers it. Returns the head that landed.
    @discardableResult
    private func commitAndPush(_ batch: [Pending], repo: Repository, context: OperationContext, prebuilt: Built? = nil) throws -> ObjectID? {
        var tip = try prebuilt.map { $0.base } ?? currentTip(repo)
        // Whether `tip` was read from the remote after this batch was taken (a fetch).
        var confirmed = false
        for attempt in 1...settings.maxPushAttempts {
            let built = try (attempt == 1 ? prebuilt : nil) ?? build(batch, on: tip, repo: repo, context: context)
            guard let head = built.head, head != tip else {
                // Nothing to push, so no compare-and-swap vouches for these answers (unchanged,
                // not found, nothing to do): they stand only if the remote is still at the tip
                // they were planned on. Another replica may have moved it; then re-plan.
                if !confirmed, try !remoteIsAt(tip, repo: repo) {
                    try fetch(repo)
                    tip = try repo.lookupReference(trackingRef)
                    confirmed = true
                    continue
                }
                zip(batch, built.results).forEach { $0.complete($1) }
                return tip
            }
            do {
                metrics.pushed()
                // Compare-and-swap against the tip the batch was built on: a remote that moved,
                // even backwards (a reset or force-push), refuses, and the batch is re-run.
                try repo.pushBranch(settings.remote, branch: settings.branch, commit: head, expected: tip)
                try landed(batch, built, repo: repo, attempt: attempt)
                return head
            } catch let error as GitError where error.kind == .refused {
                markReached()
                metrics.pushRefused()
                logger.notice("push refused; re-running on the new tip", metadata: ["attempt": "\(attempt)", "reason": "\(error.message)"])
                if attempt == settings.maxPushAttempts { break }
                Thread.sleep(forTimeInterval: backoff(attempt: attempt))
                try fetch(repo)
                tip = try repo.lookupReference(trackingRef)
                confirmed = true
            }
        }
        throw UnavailableError(message: "the remote kept refusing the push after \(settings.maxPushAttempts) attempts", retryAfterSeconds: 2)
    }

    /// The batch's commits are on the remote: move the tracking ref and answer.
    private func landed(_ batch: [Pending], _ built: Built, repo: Repository, attempt: Int) throws {
        guard let head = built.head else { return }
        markReached()
        try repo.updateReference(trackingRef, to: head, expected: built.base, message: "manifestor: pushed batch")
        metrics.committed(built.results.filter { (try? $0.get().changed) == true }.count)
        logger.info("pushed", metadata: ["commit": "\(head.hex)", "operations": "\(batch.count)", "attempt": "\(attempt)"])
        zip(batch, built.results).forEach { $0.complete($1) }
    }

    /// Each operation of `batch` as its own commit on `tip`. An operation whose input is bad
    /// gets its error and makes no commit; a git failure fails the whole batch (thrown).
    private func build(_ batch: [Pending], on tip: ObjectID?, repo: Repository, context: OperationContext) throws -> Built {
        var head = tip
        var results: [Result<Done, Error>] = []
        for item in batch {
            do {
                let plan = try item.plan(TreeSnapshot(repository: repo, commit: head), context)
                let signature = Signature(name: settings.author.name, email: settings.author.email, date: context.now)
                if !plan.changes.isEmpty,
                   let commit = try repo.makeCommit(parent: head, changes: plan.changes, author: signature, committer: signature, message: plan.message.text) {
                    head = commit
                    results.append(.success(Done(commit: commit, changed: true, answer: plan.answer, subject: plan.message.subject)))
                } else {
                    results.append(.success(Done(commit: head, changed: false, answer: plan.answer, subject: plan.message.subject)))
                }
            } catch let error as GitError where error.kind != .invalidInput {
                throw error
            } catch {
                results.append(.failure(error))
            }
        }
        return Built(base: tip, head: head, results: results)
    }

    /// The tracking ref's commit, fetched first when the cache has none.
    private func currentTip(_ repo: Repository) throws -> ObjectID? {
        if let tip = try repo.lookupReference(trackingRef) { return tip }
        try fetch(repo)
        return try repo.lookupReference(trackingRef)
    }

    private func takeBatch() -> [Pending] {
        lock.withLock {
            let take = Array(pending.prefix(settings.maxBatch))
            pending.removeFirst(take.count)
            return take
        }
    }

    private func fail(_ batch: [Pending], _ error: Error) {
        let mapped = mapGitError(error)
        logger.notice("batch failed", metadata: ["operations": "\(batch.count)", "error": "\(mapped)"])
        batch.forEach { $0.complete(.failure(mapped)) }
    }

    /// Exponential backoff with full jitter: 25 ms, 50 ms, ... capped at 1.6 s.
    private func backoff(attempt: Int) -> TimeInterval {
        let cap = min(1.6, 0.025 * pow(2.0, Double(attempt - 1)))
        return Double.random(in: cap / 2...cap)
    }

    private func markReached() { lock.withLock { reachedRemote = true } }

    /// Asks the remote where the branch is (its reference advertisement, one round trip) and
    /// compares with `tip`. A branch that vanished from the remote cannot be decided on.
    private func remoteIsAt(_ tip: ObjectID?, repo: Repository) throws -> Bool {
        metrics.confirmed()
        let remote = try repo.remoteReference(settings.remote, "refs/heads/\(settings.branch)")
        markReached()
        if remote == nil, let tip {
            throw UnavailableError(message: "refs/heads/\(settings.branch) is gone from the remote (it was at \(tip.short))",
                                   retryAfterSeconds: 5)
        }
        return remote == tip
    }

    private func fetch(_ repo: Repository) throws {
        metrics.fetched()
        try repo.fetch(settings.remote, refspecs: ["+refs/heads/\(settings.branch):\(trackingRef)"])
        markReached()
        // A branch that vanished from the remote leaves no stale tip behind.
    }

    // MARK: - The cache

    /// Runs `body` holding the cache's file lock, with the repository opened (or rebuilt when
    /// a killed process left it unusable).
    private func withCacheLock<T>(_ body: (Repository) throws -> T) throws -> T {
        let fm = FileManager.default
        try fm.createDirectory(at: settings.cacheDirectory, withIntermediateDirectories: true)
        let lockFile = settings.cacheDirectory.appendingPathComponent("manifestor.lock").path
        let cacheLock = try CacheLock.acquire(path: lockFile, timeoutSeconds: settings.lockTimeoutSeconds)
        defer { cacheLock.release() }
        let repo = try openRepository()
        // Holding the cache's lock, no other process writes to it: a `*.lock` file or a
        // temporary push ref in it was left by a killed process and would block ref updates.
        if let removed = try? repo.removeStaleLeftovers(), !removed.isEmpty {
            logger.notice("removed leftovers of a killed process", metadata: ["paths": "\(removed)"])
        }
        return try body(repo)
    }

    private func openRepository() throws -> Repository {
        if let repository { return repository }
        let path = settings.cacheDirectory.appendingPathComponent("repo.git").path
        do {
            let repo = try Repository.openOrCreateBare(at: path)
            _ = try repo.lookupReference(trackingRef)
            repository = repo
            return repo
        } catch {
            // The cache is only a copy of the remote: rebuild it.
            logger.warning("cache unusable, rebuilding", metadata: ["path": "\(path)", "error": "\(error)"])
            try? FileManager.default.removeItem(atPath: path)
            let repo = try Repository.openOrCreateBare(at: path)
            repository = repo
            return repo
        }
    }

    private func mapGitError(_ error: Error) -> Error {
        guard let git = error as? GitError else { return error }
        switch git.kind {
        case .unreachable, .locked:
            return UnavailableError(message: "git remote unavailable: \(git.message)", retryAfterSeconds: 5)
        default:
            return git
        }
    }
}

private struct ErasedPlan {
    var changes: [TreeChange]
    var message: CommitMessage
    var answer: any Sendable
}

private struct Done {
    var commit: ObjectID?
    var changed: Bool
    var answer: any Sendable
    var subject: String
}

private struct Built {
    /// The tip the batch was built on, and the last commit it made (the tip if none).
    var base: ObjectID?
    var head: ObjectID?
    var results: [Result<Done, Error>]
}

/// A built batch whose push runs on the push queue.
private final class Flight: @unchecked Sendable {
    let batch: [Pending]
    let built: Built
    let context: OperationContext
    private let finished = DispatchSemaphore(value: 0)
    private var outcome: Result<Bool, Error>?

    init(batch: [Pending], built: Built, context: OperationContext, prepared: PreparedPush, queue: DispatchQueue) {
        self.batch = batch
        self.built = built
        self.context = context
        queue.async { [self] in
            outcome = Result { try prepared.send() }
            finished.signal()
        }
    }

    /// The push's outcome, once it is known.
    func wait() -> Result<Bool, Error> {
        finished.wait()
        return outcome!
    }
}

private struct Pending {
    var name: String
    var plan: (TreeSnapshot, OperationContext) throws -> ErasedPlan
    var complete: (Result<Done, Error>) -> Void
}

/// What the committer reports; the server exports it as Prometheus metrics.
public protocol CommitterMetrics: Sendable {
    func batch(size: Int)
    func pushed()
    func pushRefused()
    func committed(_ count: Int)
    func fetched()
    /// The remote's tip was read to confirm an answer that pushed nothing.
    func confirmed()
}

public struct NoCommitterMetrics: CommitterMetrics {
    public init() {}
    public func batch(size: Int) {}
    public func pushed() {}
    public func pushRefused() {}
    public func committed(_ count: Int) {}
    public func fetched() {}
    public func confirmed() {}
}
