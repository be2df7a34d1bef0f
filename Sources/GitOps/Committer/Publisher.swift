import Foundation
import GitStore
import GitWire
import KubeModel
import Logging
import Templates

/// Turns batches into commits on the branch: builds each batch as one commit per operation on
/// the tip, pushes it as a compare-and-swap on that tip, re-runs it on the new tip after a
/// refusal (bounded, jittered backoff), and answers its operations. Runs on the git thread.
///
/// Pushes are pipelined: while batch k is on the wire (network and server time, during which
/// this thread would only wait), batch k+1 is built on k's head; it is pushed once k has
/// landed, with k's head as its compare-and-swap base. If k does not land as built (refused,
/// re-run on a new tip, or failed), k+1 is built again on the new tip, so every answer still
/// names a commit that is on the remote. Which transport carries a push is GitStore's business.
final class Publisher {
    struct Settings {
        var author: (name: String, email: String)
        var maxPushAttempts: Int
        var signer: SSHSigner?
    }

    let cache: CacheHandle
    private let settings: Settings
    private let catalog: @Sendable () throws -> Catalog
    private let clock: @Sendable () -> Date
    private let logger: Logger
    let metrics: any CommitterMetrics
    private let pushQueue: DispatchQueue
    /// Told of every push that lands, on the git thread (they must not block): `tell`.
    let observers = LandedObservers()
    /// Set when a batch failed because the remote could not be reached in time: the batch taken
    /// next (requests that queued while it waited) fails at once with the same error instead of
    /// waiting out another deadline, so a stalled remote costs each request one deadline.
    private var unreachable: (error: Error, at: ContinuousClock.Instant)?

    init(cache: CacheHandle, settings: Settings, catalog: @escaping @Sendable () throws -> Catalog,
         clock: @escaping @Sendable () -> Date, logger: Logger, metrics: any CommitterMetrics) {
        self.cache = cache; self.settings = settings; self.catalog = catalog; self.clock = clock
        self.logger = logger; self.metrics = metrics
        pushQueue = DispatchQueue(label: "manifestor.push.\(cache.branch)", qos: .userInitiated)
    }

    /// Publishes `first` and every batch `next` hands out after it, holding the cache's lock.
    func run(_ first: [Pending], next: () -> [Pending]) {
        var pending = first
        // The pipeline hands back what it has not started when the cache wants a fresh instance
        // of its repository (after packs were merged); `withLock` opens it.
        while !pending.isEmpty {
            let batch = pending
            do {
                pending = try cache.withLock { repo in pipeline(batch, next: next, repo: repo) }
            } catch {
                fail(batch, error)
                return
            }
        }
    }

    /// Publishes batches until none is left (returns []), or returns the batch it took but did
    /// not start because the cache wants a fresh repository instance.
    private func pipeline(_ first: [Pending], next: () -> [Pending], repo: Repository) -> [Pending] {
        var batch = first
        var flight: Flight?
        while true {
            if cache.wantsFreshInstance, !batch.isEmpty {
                if let landing = flight {
                    flight = nil
                    _ = land(landing, repo: repo)
                }
                return batch
            }
            if batch.isEmpty {
                guard let landing = flight else { return [] }
                flight = nil
                _ = land(landing, repo: repo)
                cache.maintain(repo)
                batch = next()
                continue
            }
            if let down = unreachable {
                unreachable = nil
                if ContinuousClock.now - down.at < .milliseconds(500) {
                    fail(batch, down.error)
                    unreachable = nil
                    batch = next()
                    continue
                }
            }
            metrics.batch(size: batch.count)
            do {
                let context = OperationContext(catalog: try catalog(), now: clock())
                let base = try flight?.built.head ?? cache.knownTip(repo)
                let built = try build(batch, on: base, repo: repo, context: context)
                if let landing = flight {
                    flight = nil
                    if !land(landing, repo: repo) {
                        // Built on a head that did not reach the remote as it was.
                        try publish(batch, repo: repo, context: context)
                        batch = next()
                        continue
                    }
                }
                if built.pushesSomething, let head = built.head {
                    metrics.pushed()
                    let start = ContinuousClock.now
                    let push = try repo.startPush(cache.remote, branch: cache.branch, commit: head, expected: base, on: pushQueue)
                    flight = Flight(batch: batch, built: built, context: context, push: push, started: start)
                } else {
                    try publish(batch, repo: repo, context: context, prebuilt: built)
                }
            } catch {
                fail(batch, error)
            }
            // Packing overlaps the push in flight, if any (the network part needs no repository);
            // while requests wait, it waits for much more to pack (see `CachePacker.maintain`).
            batch = next()
            cache.maintain(repo, busy: !batch.isEmpty)
        }
    }

    /// Waits for `flight`'s push and answers its operations. True when its commits reached the
    /// remote exactly as built (so a batch built on its head may follow).
    private func land(_ flight: Flight, repo: Repository) -> Bool {
        do {
            do {
                defer { metrics.pushDuration(seconds: seconds(since: flight.started)) }
                try flight.push.finish()
            } catch let error as GitError where error.kind == .refused {
                refused(error, attempt: 1, batch: flight.batch)
                try cache.fetch(repo)
                try publish(flight.batch, repo: repo, context: flight.context, fetched: true)
                return false
            }
            try landed(flight.batch, flight.built, repo: repo, attempt: 1)
            return true
        } catch {
            fail(flight.batch, error)
            return false
        }
    }

    /// Pushes `batch` (built first unless `prebuilt`), re-running it on the new tip after a
    /// refusal, and answers it. `fetched`: the tracking ref was fetched after the batch was taken.
    private func publish(_ batch: [Pending], repo: Repository, context: OperationContext, prebuilt: Built? = nil,
                         fetched: Bool = false) throws {
        var tip = try prebuilt.map { $0.base } ?? cache.knownTip(repo)
        // Whether `tip` was read from the remote after this batch was taken.
        var confirmed = fetched
        for attempt in 1...settings.maxPushAttempts {
            let built = try (attempt == 1 ? prebuilt : nil) ?? build(batch, on: tip, repo: repo, context: context)
            guard built.pushesSomething, let head = built.head else {
                // Nothing to push, so no compare-and-swap vouches for these answers (unchanged,
                // not found, nothing to do): they stand only if the remote is still at the tip
                // they were planned on. Another replica may have moved it; then re-plan.
                if !confirmed, try !cache.remoteIsAt(tip, repo) {
                    tip = try cache.fetch(repo)
                    confirmed = true
                    continue
                }
                answer(batch, built.results)
                return
            }
            do {
                metrics.pushed()
                // Compare-and-swap against the tip the batch was built on: a remote that moved,
                // even backwards (a reset or force-push), refuses, and the batch is re-run.
                try timed { try repo.pushBranch(cache.remote, branch: cache.branch, commit: head, expected: tip) }
                try landed(batch, built, repo: repo, attempt: attempt)
                return
            } catch let error as GitError where error.kind == .refused {
                refused(error, attempt: attempt, batch: batch)
                if attempt == settings.maxPushAttempts { break }
                Thread.sleep(forTimeInterval: backoff(attempt: attempt))
                tip = try cache.fetch(repo)
                confirmed = true
            }
        }
        throw UnavailableError(message: "the remote kept refusing the push after \(settings.maxPushAttempts) attempts", retryAfterSeconds: 2)
    }

    /// The batch's commits are on the remote: move the tracking ref and answer.
    private func landed(_ batch: [Pending], _ built: Built, repo: Repository, attempt: Int) throws {
        guard let head = built.head else { return }
        try cache.landed(repo, head: head, base: built.base, previews: built.previews)
        tell(built, head: head, repo: repo)
        metrics.committed(built.results.filter { (try? $0.get().changed) == true }.count)
        logger.info("pushed", metadata: ["commit": "\(head.hex)", "operations": "\(batch.count)", "attempt": "\(attempt)",
                                         "request_ids": requestIDs(batch)])
        answer(batch, built.results)
    }

    /// Answers each operation of `batch` with its result, counting the failures by kind.
    private func answer(_ batch: [Pending], _ results: [Result<Done, Error>]) {
        for (item, result) in zip(batch, results) {
            if case let .failure(error) = result { metrics.failed(kind: Self.kind(of: error), count: 1) }
            item.complete(result)
        }
    }

    private static func kind(of error: Error) -> FailureKind {
        (error as? any DomainError)?.kind ?? .internal
    }

    /// Each operation of `batch` as its own commit on `tip`. An operation whose input is bad
    /// gets its error and makes no commit; a git failure fails the whole batch (thrown).
    private func build(_ batch: [Pending], on tip: ObjectID?, repo: Repository, context: OperationContext) throws -> Built {
        var head = tip
        var results: [Result<Done, Error>] = []
        var previews: Set<String> = []
        var touched: [String: Bool] = [:]
        let signature = Signature(name: settings.author.name, email: settings.author.email, date: context.now)
        for item in batch {
            do {
                let plan = try item.plan(TreeSnapshot(repository: repo, commit: head), context)
                if !plan.changes.isEmpty,
                   let commit = try repo.makeCommit(parent: head, changes: plan.changes, author: signature, committer: signature,
                                                    message: plan.message.text, signer: settings.signer) {
                    head = commit
                    previews.formUnion(plan.changes.compactMap { previewTaskID(ofChangedPath: $0.path) })
                    for change in plan.changes {
                        if case .delete = change { touched[change.path] = false } else { touched[change.path] = true }
                    }
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
        return Built(base: tip, head: head, results: results, previews: previews, touched: touched)
    }

    private func refused(_ error: GitError, attempt: Int, batch: [Pending]) {
        metrics.pushRefused()
        logger.notice("push refused; re-running on the new tip", metadata: ["attempt": "\(attempt)", "reason": "\(error.message)",
                                                                           "request_ids": requestIDs(batch)])
    }

    private func fail(_ batch: [Pending], _ error: Error) {
        if let git = error as? GitError, git.kind == .unreachable { unreachable = (error, ContinuousClock.now) }
        let mapped = availability(of: error)
        logger.notice("batch failed", metadata: ["operations": "\(batch.count)", "error": "\(mapped)", "request_ids": requestIDs(batch)])
        metrics.failed(kind: Self.kind(of: mapped), count: batch.count)
        batch.forEach { $0.complete(.failure(mapped)) }
    }

    /// Exponential backoff with full jitter: 25 ms, 50 ms, ... capped at 1.6 s.
    private func backoff(attempt: Int) -> TimeInterval {
        let cap = min(1.6, 0.025 * pow(2.0, Double(attempt - 1)))
        return Double.random(in: cap / 2...cap)
    }
}

/// A built batch whose push is under way.
private struct Flight {
    let batch: [Pending]
    let built: Built
    let context: OperationContext
    let push: PendingPush
    let started: ContinuousClock.Instant
}
