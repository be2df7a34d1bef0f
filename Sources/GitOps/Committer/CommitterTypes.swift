import Foundation
import GitStore
import GitWire
import KubeModel

/// What a caller gets back: its own commit, or the current tip and `changed: false`.
public struct CommitOutcome<Answer: Sendable>: Sendable {
    public var commit: ObjectID?
    public var changed: Bool
    public var answer: Answer
    /// The subject of the commit this operation made (or would have made).
    public var subject: String
}

/// One queued operation, its type erased: how to plan it on a tree, and whom to answer.
struct Pending {
    var name: String
    /// The HTTP request that submitted it, for the log lines about its batch.
    var requestID: String?
    var plan: (TreeSnapshot, OperationContext) throws -> ErasedPlan
    var complete: (Result<Done, Error>) -> Void
}

struct ErasedPlan {
    var changes: [TreeChange]
    var message: CommitMessage
    var answer: any Sendable
}

/// One operation's result in a built batch.
struct Done {
    var commit: ObjectID?
    var changed: Bool
    var answer: any Sendable
    var subject: String
}

/// A batch turned into commits, not yet pushed.
struct Built {
    /// The tip the batch was built on, and the last commit it made (the tip if none).
    var base: ObjectID?
    var head: ObjectID?
    var results: [Result<Done, Error>]
    /// The previews (task ids) its commits change.
    var previews: Set<String> = []
    /// Every path its commits touch, and whether the path holds a file at `head`.
    var touched: [String: Bool] = [:]

    var pushesSomething: Bool { head != nil && head != base }
}

/// A push that landed on the remote, for those who act on it (the Argo CD notifier): the tip
/// it moved from and to, and the files its commits added, modified and removed.
public struct LandedPush: Sendable, Equatable {
    public var branch: String
    public var before: ObjectID?
    public var after: ObjectID
    public var added: [String]
    public var modified: [String]
    public var removed: [String]

    public init(branch: String, before: ObjectID?, after: ObjectID, added: [String], modified: [String], removed: [String]) {
        self.branch = branch; self.before = before; self.after = after
        self.added = added; self.modified = modified; self.removed = removed
    }

    /// Every path the push touched.
    public var paths: [String] { added + modified + removed }
}

/// Who hears of every landed push; set once, read on the git thread.
final class LandedObservers: @unchecked Sendable {
    private let lock = NSLock()
    private var observers: [@Sendable (LandedPush) -> Void] = []

    func add(_ observer: @escaping @Sendable (LandedPush) -> Void) { lock.withLock { observers.append(observer) } }
    var current: [@Sendable (LandedPush) -> Void] { lock.withLock { observers } }
}

/// The task id of the preview directory `path` lies in (`preview/task-<id>/...`), if any.
func previewTaskID(ofChangedPath path: String) -> String? {
    let parts = path.split(separator: "/", maxSplits: 2)
    guard parts.count >= 2, parts[0] == "preview", parts[1].hasPrefix("task-") else { return nil }
    return String(parts[1].dropFirst("task-".count))
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
    /// How long one push took, from its start to the remote's answer (landed or refused).
    func pushDuration(seconds: Double)
    /// How long one fetch took.
    func fetchDuration(seconds: Double)
    /// `count` operations were answered with an error of `kind`.
    func failed(kind: FailureKind, count: Int)
    /// The number of preview directories at the tip, after a commit landed or a fetch.
    func livePreviews(_ count: Int)
    /// The cache was packed: `looseObjects` written into a new pack, `mergedPacks` merged into one.
    func cachePacked(looseObjects: Int, mergedPacks: Int, seconds: Double)
}

extension CommitterMetrics {
    public func pushDuration(seconds: Double) {}
    public func fetchDuration(seconds: Double) {}
    public func failed(kind: FailureKind, count: Int) {}
    public func livePreviews(_ count: Int) {}
    public func cachePacked(looseObjects: Int, mergedPacks: Int, seconds: Double) {}
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
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
