import Foundation
import GitStore
import GitWire

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

    var pushesSomething: Bool { head != nil && head != base }
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
