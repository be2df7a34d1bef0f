import Foundation
import GitOps

/// The long poll of `?wait=ready`: however many callers wait on one Application, one loop asks
/// Argo CD about it, every `interval`, and hands each answer to all of them. A caller is
/// answered as soon as the Application is ready or failed, or else at the last poll before its
/// deadline (at most one interval early, never late) with the last answer; the loop ends when
/// nobody waits any more, so 50 waiters cost Argo CD what one does.
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
                let now = ContinuousClock.now
                let waiter = Waiter(deadline: now + timeout, continuation: continuation)
                if watches[key] == nil {
                    watches[key] = Watch()
                    Task { await self.loop(key, origin: now, check: check) }
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

    /// Polls on a fixed grid from `origin` (the first waiter's arrival): at each tick, answers
    /// the waiters whose deadline comes before the next tick with the last answer (so nobody is
    /// held past their timeout, and a waiter that joined late costs no extra poll at the end),
    /// then asks Argo CD if anybody is still waiting.
    private func loop(_ key: String, origin: ContinuousClock.Instant, check: Check) async {
        var tick = 0
        while true {
            let now = origin + interval * tick
            expire(key, before: now + interval)
            guard let watch = watches[key], !watch.waiters.isEmpty else { break }
            let status = await check(tick == 0)
            settle(key, with: status)
            tick += 1
            try? await Task.sleep(until: origin + interval * tick, clock: .continuous)
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

    /// Answers the waiters whose deadline comes before `limit` with the last answer (none
    /// before the first answer).
    private func expire(_ key: String, before limit: ContinuousClock.Instant) {
        guard let watch = watches[key], let latest = watch.latest else { return }
        for (id, waiter) in watch.waiters where waiter.deadline < limit {
            watches[key]?.waiters[id] = nil
            waiter.continuation.resume(returning: latest)
        }
    }
}
