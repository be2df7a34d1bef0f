import Foundation
import GitOps
import GitWire
import Logging
import Templates

/// Manifestor's loop with a running Argo CD (config `argocd.server`, `argocd.applicationSetWebhook`):
/// after every push that lands, the ApplicationSet webhook and a refresh of each changed
/// Application (`Notifier`); the status of a preview's or an environment's Application and
/// whether it is ready (`Readiness`); the shared long poll (`StatusWatch`); and the promotion
/// gate. Argo CD being down never fails or slows a write: only the status says so.
public final class ArgoCDLink: Sendable {
    private let client: ArgoCDClient
    private let committer: Committer
    private let notifier: Notifier
    private let watch: StatusWatch
    private let metrics: any ArgoCDMetrics
    private let clock: @Sendable () -> Date

    /// The link `config` names, or nil when it names no Argo CD.
    public convenience init?(config: ManifestorConfig, committer: Committer, logger: Logger = Logger(label: "manifestor.argocd"),
                             metrics: any ArgoCDMetrics = NoArgoCDMetrics()) {
        guard let connection = config.argocdLink else { return nil }
        self.init(connection: connection, repositoryURL: config.repository.url, committer: committer, logger: logger, metrics: metrics)
    }

    public init(connection: ArgoCDConnection, repositoryURL: String, committer: Committer, logger: Logger = Logger(label: "manifestor.argocd"),
                metrics: any ArgoCDMetrics = NoArgoCDMetrics(), pollInterval: Duration = .milliseconds(500),
                clock: @escaping @Sendable () -> Date = Date.init) {
        client = ArgoCDClient(connection: connection)
        self.committer = committer
        notifier = Notifier(client: client, repositoryURL: repositoryURL, logger: logger, metrics: metrics)
        watch = StatusWatch(interval: pollInterval)
        self.metrics = metrics
        self.clock = clock
    }

    /// Whether status and the promotion gate are on (`argocd.server` is set).
    public var readsStatus: Bool { client.connection.server != nil }

    /// Notifies Argo CD after every push of `committer` that lands, from now on.
    public func notifyOnPush() {
        let notifier = notifier
        committer.onLanded { notifier.enqueue($0) }
    }

    /// Waits until every notification queued so far was sent or given up on (a CLI before it
    /// exits, a server at shutdown).
    public func drainNotifications() async { await notifier.waitUntilIdle() }

    /// `drainNotifications`, giving up after `bound`.
    public func drainNotifications(within bound: Duration) async {
        let notifier = notifier
        let once = Once()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Task { await notifier.waitUntilIdle(); if once.first() { continuation.resume() } }
            Task { try? await Task.sleep(for: bound); if once.first() { continuation.resume() } }
        }
    }

    /// The status of the preview of `taskID`.
    public func status(previewOf taskID: String) async -> ApplicationStatus {
        await status(ApplicationNames.preview(taskID: taskID), directory: TaskID.directory(taskID), refresh: true)
    }

    /// The status of `scope`'s Application.
    public func status(of scope: EnvironmentScope) async -> ApplicationStatus {
        await status(ApplicationNames.environment(scope), directory: scope.directory, refresh: true)
    }

    /// Waits (at most `timeout`) until the preview of `taskID` is ready or failed.
    public func wait(previewOf taskID: String, timeout: Duration) async -> ApplicationStatus {
        await wait(ApplicationNames.preview(taskID: taskID), directory: TaskID.directory(taskID), timeout: timeout)
    }

    /// Waits (at most `timeout`) until `scope`'s Application is ready or failed.
    public func wait(for scope: EnvironmentScope, timeout: Duration) async -> ApplicationStatus {
        await wait(ApplicationNames.environment(scope), directory: scope.directory, timeout: timeout)
    }

    private func wait(_ name: String, directory: String, timeout: Duration) async -> ApplicationStatus {
        await watch.wait(name, timeout: timeout) { [self] first in
            await status(name, directory: directory, refresh: first)
        }
    }

    /// Asks Argo CD for `name` and decides readiness against `directory` at the branch's tip
    /// (looked up at the remote when `refresh`, or when the revision is newer than the cache).
    func status(_ name: String, directory: String, refresh: Bool) async -> ApplicationStatus {
        let now = clock()
        let document: ApplicationDocument?
        do {
            document = try await client.application(name)
            metrics.statusRead(answered: true)
        } catch {
            metrics.statusRead(answered: false)
            return ApplicationStatus(application: name, reason: "Argo CD could not be asked", error: "\(error)", checkedAt: now)
        }
        do {
            let standing = try await standing(of: document?.revision, directory: directory, refresh: refresh)
            var operationStanding: RevisionStanding?
            if let revision = document?.operationRevision, revision != document?.revision {
                operationStanding = try await self.standing(of: revision, directory: directory, refresh: false)
            }
            return Readiness.status(name, document: document, standing: standing, operationStanding: operationStanding, checkedAt: now)
        } catch {
            return ApplicationStatus(application: name, reason: "the git remote could not be read", error: "\(error)", checkedAt: now)
        }
    }

    private func standing(of revision: String?, directory: String, refresh: Bool) async throws -> RevisionStanding? {
        guard let revision else { return nil }
        let found = try await committer.standing(of: revision, directory: directory, refresh: refresh)
        // A revision newer than the cache: another writer moved the branch; look at the remote.
        if found.standing == .unknown, !refresh {
            return try await committer.standing(of: revision, directory: directory, refresh: true).standing
        }
        return found.standing
    }

    /// The promotion gate: the source's Application must be ready at the commit that last
    /// changed the source directory or later, else 409 `source_not_ready` naming the condition;
    /// Argo CD unreachable is a 503. `force` skips the check (with `reason`, required).
    public func gate(_ source: PromotionSource, project: String, force: Bool, reason: String?) async throws -> PromotionGate {
        if force { return try PromotionGate.forced(reason: reason) }
        let directory = source.directory(project: project)
        let name: String
        switch source {
        case .staging: name = ApplicationNames.environment(EnvironmentScope(.staging, project: project))
        case .preview(let id): name = ApplicationNames.preview(taskID: id)
        }
        let checked = try await committer.lastChange(of: directory)
        let status = await status(name, directory: directory, refresh: false)
        if let error = status.error {
            throw UnavailableError(message: "the promotion gate could not ask Argo CD about \(name): \(error)", retryAfterSeconds: 5,
                                   code: "argocd_unavailable")
        }
        guard status.ready, let revision = status.revision else {
            throw ConflictError(code: "source_not_ready",
                                message: "\(source) is not ready in Argo CD (Application \(name)): \(status.reason ?? "not ready"); wait until it is, or pass force with a reason")
        }
        return .ready(revision: revision, tree: checked.tree)
    }
}

/// True for the first caller only.
final class Once: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func first() -> Bool { lock.withLock { defer { done = true }; return !done } }
}
