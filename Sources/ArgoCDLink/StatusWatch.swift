import Foundation
import GitOps

/// The long poll of `?wait=ready`: however many callers wait on one Application, one loop asks
/// Argo CD about it, every `interval`, and hands each answer to all of them. A caller is
/// answered as soon as the Application is ready or failed, or at its own deadline with the
/// last answer; the loop ends when nobody waits any more.
actor StatusWatch {
    typealias Check = @Sendable (_ first: Bool) async -> ApplicationStatus

    private struct Waiter {
        var deadline: ContinuousClock.Instant
        var continuation: CheckedContinuation<ApplicationStatus, Never>
    }
    private struct Watch {
        var waiters: [UUID: Waiter] = [:]
        var latest: ApplicationStatus?
    }

    private var watches: [String: Watch] = [:]
    let interval: Duration

    init(interval: Duration = .milliseconds(500)) { self.interval = interval }

    /// Waits until `key`'s Application is settled or `timeout` has passed; `check` asks Argo CD
    /// (`first` on a loop's first round).
    func wait(_ key: String, timeout: Duration, check: @escaping Check) async -> ApplicationStatus {
        let id = UUID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ApplicationStatus, Never>) in
                let waiter = Waiter(deadline: .now + timeout, continuation: continuation)
                if watches[key] == nil {
                    watches[key] = Watch()
                    Task { await self.loop(key, check: check) }
                }
                watches[key]?.waiters[id] = waiter
            }
        } onCancel: {
            Task { await self.cancel(key, id) }
        }
    }

    /// Waiters on `key` now (for tests and metrics).
    func waiting(_ key: String) -> Int { watches[key]?.waiters.count ?? 0 }

    private func cancel(_ key: String, _ id: UUID) {
        guard let waiter = watches[key]?.waiters.removeValue(forKey: id) else { return }
        waiter.continuation.resume(returning: watches[key]?.latest
            ?? ApplicationStatus(application: key, reason: "the wait was cancelled", checkedAt: Date()))
    }

    private func loop(_ key: String, check: Check) async {
        var first = true
        while let watch = watches[key], !watch.waiters.isEmpty {
            let status = await check(first)
            first = false
            settle(key, with: status)
            guard let next = watches[key]?.waiters.values.map(\.deadline).min() else { break }
            // Sleep one interval, or less when a deadline comes sooner.
            let wake = min(ContinuousClock.now + interval, next)
            try? await Task.sleep(until: wake, clock: .continuous)
            expire(key)
        }
        watches[key] = nil
    }

    /// Answers every waiter when `status` is settled; records it either way.
    private func settle(_ key: String, with status: ApplicationStatus) {
        watches[key]?.latest = status
        guard status.settled else { return }
        let waiters = watches[key]?.waiters.values.map(\.continuation) ?? []
        watches[key]?.waiters = [:]
        waiters.forEach { $0.resume(returning: status) }
    }

    /// Answers the waiters whose deadline has passed with the last answer.
    private func expire(_ key: String) {
        guard let watch = watches[key], let latest = watch.latest else { return }
        let now = ContinuousClock.now
        for (id, waiter) in watch.waiters where waiter.deadline <= now {
            watches[key]?.waiters[id] = nil
            waiter.continuation.resume(returning: latest)
        }
    }
}
