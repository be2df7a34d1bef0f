import Foundation
import GitOps
import GitWire
import Logging

/// What the Argo CD link reports; the server exports it as Prometheus metrics.
public protocol ArgoCDMetrics: Sendable {
    /// One notification (`webhook` or `refresh`) delivered, or given up on after its retries.
    func notification(kind: String, delivered: Bool)
    /// One read of an Application, and whether Argo CD answered it.
    func statusRead(answered: Bool)
}

public struct NoArgoCDMetrics: ArgoCDMetrics {
    public init() {}
    public func notification(kind: String, delivered: Bool) {}
    public func statusRead(answered: Bool) {}
}

/// Tells Argo CD of every push that lands, off the request path: the committer hands each
/// landed push over (`enqueue`, which never waits), and one delivery loop sends what has
/// gathered as one push event to the ApplicationSet webhook, then refreshes the Application of
/// each directory it changed. Pushes that land while a delivery is under way are merged into
/// the next one, so a burst costs Argo CD a few requests and the queue stays bounded. Each
/// request is retried a few times; failures are logged and counted, never answered.
final class Notifier: @unchecked Sendable {
    private let client: ArgoCDClient
    private let repositoryURL: String
    private let logger: Logger
    private let metrics: any ArgoCDMetrics
    private let lock = NSLock()
    private var pending: [LandedPush] = []
    private var delivering = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Pauses between the tries of one request.
    let retryDelays: [Duration]
    /// Refreshes sent at once.
    let parallelRefreshes = 4

    init(client: ArgoCDClient, repositoryURL: String, logger: Logger, metrics: any ArgoCDMetrics,
         retryDelays: [Duration] = [.milliseconds(200), .milliseconds(600), .milliseconds(1500)]) {
        self.client = client; self.repositoryURL = repositoryURL; self.logger = logger; self.metrics = metrics
        self.retryDelays = retryDelays
    }

    /// Queues `push`; returns at once.
    func enqueue(_ push: LandedPush) {
        let start = lock.withLock { () -> Bool in
            pending.append(push)
            if delivering { return false }
            delivering = true
            return true
        }
        if start { Task.detached(priority: .utility) { [self] in await deliverAll() } }
    }

    /// Waits until everything queued so far was delivered or given up on.
    func waitUntilIdle() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = lock.withLock { () -> Bool in
                if !delivering { return true }
                idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func deliverAll() async {
        while true {
            let batch = lock.withLock { () -> [LandedPush] in
                let taken = pending
                pending = []
                if taken.isEmpty { delivering = false }
                return taken
            }
            guard let merged = Self.merge(batch) else {
                let waiters = lock.withLock { () -> [CheckedContinuation<Void, Never>] in
                    let w = idleWaiters; idleWaiters = []; return w
                }
                waiters.forEach { $0.resume() }
                return
            }
            await deliver(merged)
        }
    }

    private func deliver(_ push: LandedPush) async {
        if client.connection.applicationSetWebhook != nil {
            let event = PushEvent(push, repositoryURL: repositoryURL)
            let sent = await retrying("webhook", about: push.after.short) { try await self.client.sendPushEvent(event) }
            metrics.notification(kind: "webhook", delivered: sent)
        }
        guard client.connection.server != nil else { return }
        let applications = Self.applicationsToRefresh(push)
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for application in applications {
                if running == parallelRefreshes { await group.next(); running -= 1 }
                running += 1
                group.addTask { [self] in
                    // A new Application may take a moment to be generated from the webhook.
                    let refreshed = await retrying("refresh", about: application) {
                        guard try await self.client.application(application, refresh: true) != nil else {
                            throw ArgoCDError(message: "Argo CD has no Application \(application) (yet)")
                        }
                    }
                    metrics.notification(kind: "refresh", delivered: refreshed)
                }
            }
        }
    }

    /// Runs `body` until it succeeds, at most `retryDelays.count + 1` times.
    private func retrying(_ kind: String, about subject: String, _ body: @Sendable () async throws -> Void) async -> Bool {
        var lastError: Error?
        for attempt in 0...retryDelays.count {
            if attempt > 0 { try? await Task.sleep(for: retryDelays[attempt - 1]) }
            do {
                try await body()
                return true
            } catch {
                lastError = error
            }
        }
        logger.notice("Argo CD notification failed", metadata: ["kind": "\(kind)", "subject": "\(subject)",
                                                                "attempts": "\(retryDelays.count + 1)", "error": "\(lastError.map { "\($0)" } ?? "-")"])
        return false
    }

    /// The pushes of `batch` as one: from the first's `before` to the last's `after`, each path
    /// classified by whether it existed before the first and exists after the last.
    static func merge(_ batch: [LandedPush]) -> LandedPush? {
        guard let first = batch.first, let last = batch.last else { return nil }
        if batch.count == 1 { return first }
        var existedBefore: [String: Bool] = [:], existsAfter: [String: Bool] = [:]
        for push in batch {
            for path in push.added { existedBefore[path] = existedBefore[path] ?? false; existsAfter[path] = true }
            for path in push.modified { existedBefore[path] = existedBefore[path] ?? true; existsAfter[path] = true }
            for path in push.removed { existedBefore[path] = existedBefore[path] ?? true; existsAfter[path] = false }
        }
        var added: [String] = [], modified: [String] = [], removed: [String] = []
        for path in existsAfter.keys.sorted() {
            switch (existedBefore[path] ?? false, existsAfter[path] ?? false) {
            case (false, true): added.append(path)
            case (true, true): modified.append(path)
            case (true, false): removed.append(path)
            case (false, false): break
            }
        }
        return LandedPush(branch: last.branch, before: first.before, after: last.after, added: added, modified: modified, removed: removed)
    }

    /// The Applications of the directories `push` changed, but not of a preview whose files it
    /// only removed: that preview is gone, and its Application goes with the next generation.
    static func applicationsToRefresh(_ push: LandedPush) -> [String] {
        var names: Set<String> = []
        for path in push.added + push.modified { if let app = ApplicationNames.application(ofPath: path) { names.insert(app.name) } }
        for path in push.removed {
            if let app = ApplicationNames.application(ofPath: path), !app.directory.hasPrefix("preview/") { names.insert(app.name) }
        }
        return names.sorted()
    }
}
