import ArgoCDLink
import Foundation
import GitOps
import Logging
import Templates

/// What the routes need: the committer of the branch, the catalog, the registry and limits.
public final class ManifestorService: Sendable {
    public let committer: Committer
    public let metrics: ServerMetrics
    public let registry: RegistryClient?
    public let maxBodyBytes: Int
    /// Fetch before every read, so readers see other writers' commits.
    public let refreshReads: Bool
    public let config: ManifestorConfig
    /// The running Argo CD, when the config names one: notified after every landed push, asked
    /// for status, and the promotion gate.
    public let argocd: ArgoCDLink?
    /// What `GET /version` answers.
    public let build = BuildInfo.current()
    private let loadCatalog: @Sendable () throws -> Catalog
    private let clock: @Sendable () -> Date

    public init(config: ManifestorConfig, catalog: @escaping @Sendable () throws -> Catalog, metrics: ServerMetrics = ServerMetrics(),
                clock: @escaping @Sendable () -> Date = Date.init, logger: Logger = Logger(label: "manifestor")) {
        self.config = config
        self.metrics = metrics
        self.loadCatalog = catalog
        self.clock = clock
        var settings = Committer.Settings(config: config)
        // A server runs for months: its new objects stay in memory until packed.
        settings.objectsInMemory = true
        self.committer = Committer(settings: settings, catalog: catalog, clock: clock, logger: logger, metrics: metrics)
        self.maxBodyBytes = config.server.maxBodyBytes ?? 64 * 1024
        self.refreshReads = true
        registry = config.makeRegistryClient()
        argocd = ArgoCDLink(config: config, committer: committer, logger: logger, metrics: metrics)
        if argocd != nil { metrics.prepareArgoCDSeries() }
        argocd?.notifyOnPush()
        committer.prepareReads()
    }

    public func catalog() throws -> Catalog { try loadCatalog() }

    /// The catalog of `project`: the built-in one, or the registered one at the remote's tip
    /// (404 when there is none).
    func catalog(of project: String) async throws -> Catalog {
        try await committer.catalog(of: project, builtIn: try catalog())
    }

    /// The answer of a write with `dryRun`: what it would commit (200), planned on the remote's
    /// tip with the same checks as the write; nothing is committed or pushed.
    func dryRun<Op: GitOperation, J: Encodable>(_ operation: Op, answer: (CommitOutcome<Op.Answer>) -> J) async throws -> DryRunAnswer<J> {
        let run = try await committer.dryRun(operation, catalog: try catalog(), now: clock())
        return DryRunAnswer(run, answer: answer(run.outcome))
    }
}
