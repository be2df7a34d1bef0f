import Foundation
import GitStore
import GitWire

/// Asks the remote where the branch is (its reference advertisement, one round trip, nothing
/// downloaded), on a thread of its own, for reads that must see every write acknowledged
/// before they began, this replica's or another's.
///
/// Checks are shared: a read waits for the next check that starts after it arrived (one that
/// started earlier might predate a write the reader was told about), and every read that
/// arrived meanwhile takes the same answer. Once readers crowd (the last check answered more
/// than one), checks start at most once per `spacing`, so a crowd of pollers costs the git
/// server a bounded rate of advertisements, not one per read; a lone reader never waits.
final class RemoteTipCheck: @unchecked Sendable {
    typealias Waiter = CheckedContinuation<ObjectID?, Error>

    private let check: @Sendable () throws -> ObjectID?
    private let spacing: Duration
    private let queue: DispatchQueue
    private let lock = NSLock()
    /// Readers waiting for the next check to start.
    private var waiting: [Waiter] = []
    /// Whether a check is running or scheduled.
    private var busy = false
    private var lastStart: ContinuousClock.Instant?
    /// How many readers the last check answered.
    private var lastCrowd = 0

    init(label: String, spacing: Duration = .milliseconds(25), check: @escaping @Sendable () throws -> ObjectID?) {
        self.check = check
        self.spacing = spacing
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    /// The branch's commit on the remote (nil: it does not exist), read after this call began.
    func tip() async throws -> ObjectID? {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let start = lock.withLock { () -> Bool in
                waiting.append(waiter)
                if busy { return false }
                busy = true
                return true
            }
            if start { schedule() }
        }
    }

    private func schedule() {
        let delay = lock.withLock { () -> Duration in
            guard lastCrowd > 1, let lastStart else { return .zero }
            return max(.zero, spacing - (ContinuousClock.now - lastStart))
        }
        if delay == .zero {
            queue.async { [self] in run() }
        } else {
            let nanoseconds = Int(delay.components.attoseconds / 1_000_000_000) + Int(delay.components.seconds) * 1_000_000_000
            queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in run() }
        }
    }

    private func run() {
        let batch = lock.withLock { () -> [Waiter] in
            lastStart = ContinuousClock.now
            lastCrowd = waiting.count
            defer { waiting = [] }
            return waiting
        }
        let result = Result { try check() }
        batch.forEach { $0.resume(with: result) }
        let again = lock.withLock { () -> Bool in
            if waiting.isEmpty { busy = false; return false }
            return true
        }
        if again { schedule() }
    }
}
