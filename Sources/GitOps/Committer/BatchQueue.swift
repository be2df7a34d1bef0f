import Foundation

/// The operations waiting for the git thread: appended by any caller, taken in batches of at
/// most `maxBatch` by the one drain loop that runs while anything is queued.
final class BatchQueue: @unchecked Sendable {
    private let maxBatch: Int
    private let lock = NSLock()
    private var pending: [Pending] = []
    private var draining = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []

    init(maxBatch: Int) { self.maxBatch = maxBatch }

    var count: Int { lock.withLock { pending.count } }

    /// Queues `item`; true when no drain loop runs, so the caller must start one.
    func append(_ item: Pending) -> Bool {
        lock.withLock {
            pending.append(item)
            if draining { return false }
            draining = true
            return true
        }
    }

    /// The next batch (possibly empty).
    func take() -> [Pending] {
        lock.withLock {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            return batch
        }
    }

    /// The next batch for the drain loop; empty means the loop ends (and waiters are woken).
    func takeOrStop() -> [Pending] {
        let (batch, waiters) = lock.withLock { () -> ([Pending], [CheckedContinuation<Void, Never>]) in
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            guard batch.isEmpty else { return (batch, []) }
            draining = false
            defer { idleWaiters = [] }
            return ([], idleWaiters)
        }
        waiters.forEach { $0.resume() }
        return batch
    }

    /// Waits until everything queued so far has been answered.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = lock.withLock { () -> Bool in
                if pending.isEmpty && !draining { return true }
                idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}
