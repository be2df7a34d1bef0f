import Foundation
import GitStore
import GitWire
import Logging
import Templates

/// Reads never queue behind writes: they are answered at the tip the git thread last confirmed
/// (`TipRecord`), on reader threads with repository instances of their own (`ReaderPool`), or
/// from the preview index (`PreviewIndexKeeper`). A read first asks the remote where the branch
/// is (`RemoteTipCheck`, shared by the reads that arrive together); only when the remote is
/// somewhere else (another writer moved it) does the git thread bring the cache there, taking
/// the read's turn between batches. So a read issued after a write was acknowledged, by this
/// replica or another, sees that write.
extension Committer {
    /// Runs `body` at the tip reads are answered at, on a reader thread. `refresh: false` skips
    /// the look at the remote when the git thread has seen a tip (reads that may lag, such as
    /// the CLI's after its own write).
    public func read<T: Sendable>(refresh: Bool = true, _ body: @escaping @Sendable (TreeSnapshot) throws -> T) async throws -> T {
        let tip: ObjectID?
        if !refresh, case .some(let known) = reads.tips.tip { tip = known } else { tip = try await readTip() }
        do {
            return try await reads.readers.read { repository in try body(TreeSnapshot(repository: repository, commit: tip)) }
        } catch let error as GitError {
            // The cache was replaced under the reader (rebuilt by this process or another):
            // read on the git thread, which owns it.
            reads.logger.notice("read beside the git thread failed; reading on it", metadata: ["error": "\(error)"])
            return try await readOnGitThread(refresh: refresh, body)
        }
    }

    /// The preview of `taskID`, or nil when it has none.
    public func preview(taskID: String, domain: String) async throws -> PreviewAnswer? {
        let tip = try await readTip()
        return try await reads.index.with(at: tip) { index in
            index[taskID].map { PreviewAnswer($0.state(domain: domain), commit: tip, changed: nil) }
        }
    }

    /// One page of the previews.
    public func previews(_ query: PreviewQuery, domain: String) async throws -> PreviewList {
        let tip = try await readTip()
        return try await reads.index.with(at: tip) { index in
            PreviewList(index: index, query: query, domain: domain, commit: tip?.hex)
        }
    }

    /// One page of the previews as the JSON bytes the API answers (`encodeAnswer`), encoded once
    /// per tip and query however many readers ask.
    public func encodedPreviews(_ query: PreviewQuery, domain: String) async throws -> Data {
        let tip = try await readTip()
        return try await reads.index.encoded(at: tip, key: .init(query: query, domain: domain)) { index in
            try encodeAnswer(PreviewList(index: index, query: query, domain: domain, commit: tip?.hex))
        }
    }

    /// Starts building the preview index now (a server at start), so that the first list does
    /// not pay for reading every preview.
    public func prepareReads() {
        Task { _ = try? await previews(PreviewQuery(limit: 1), domain: "") }
    }

    /// Where reads are answered: the tip the git thread saw last, once the remote was found
    /// there after this call began.
    func readTip() async throws -> ObjectID? {
        let remote: ObjectID?
        do { remote = try await reads.check.tip() } catch { throw availability(of: error) }
        if case .some(let known) = reads.tips.tip, known == remote { return known }
        // Not there (another writer moved the remote, or nothing was seen yet): the git thread
        // confirms the remote's tip, fetching when it moved, in the read's turn among batches.
        _ = try await submit(ConfirmTip(), requestID: nil)
        guard case .some(let known) = reads.tips.tip else {
            throw UnavailableError(message: "the remote's tip could not be confirmed", retryAfterSeconds: 2)
        }
        return known
    }
}

/// What the reads beside the git thread share.
struct ReadParts: Sendable {
    let tips: TipRecord
    let readers: ReaderPool
    let check: RemoteTipCheck
    let index: PreviewIndexKeeper
    let logger: Logger

    init(settings: Committer.Settings, logger: Logger, reached: @escaping @Sendable () -> Void) {
        tips = TipRecord()
        readers = ReaderPool(path: settings.cacheDirectory.appendingPathComponent("repo.git").path,
                             label: "manifestor.reads.\(settings.branch)")
        let remote = settings.remote, reference = "refs/heads/\(settings.branch)"
        check = RemoteTipCheck(label: "manifestor.tip.\(settings.branch)") {
            let tip = try Repository.remoteReference(remote, reference)
            reached()
            return tip
        }
        index = PreviewIndexKeeper(readers: readers, tips: tips, label: "manifestor.index.\(settings.branch)")
        self.logger = logger
    }
}

/// A no-op the read submits when the remote is not where the git thread saw it last: planned
/// like any operation, it makes the git thread confirm the remote's tip (fetching when it
/// moved), so the tip it records afterwards includes every write that was acknowledged before.
struct ConfirmTip: GitOperation {
    var name: String { "confirm-tip" }
    var runsOnOlderLayout: Bool { true }

    func plan(_ tree: TreeSnapshot, _ context: OperationContext) throws -> OperationPlan<Bool> {
        OperationPlan(changes: [], message: CommitMessage(subject: "confirm the tip", trailers: []), answer: true)
    }
}
