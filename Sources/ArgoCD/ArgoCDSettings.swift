/// What the Argo CD and cluster-side manifests depend on: where the repositories live, which
/// branch Argo CD follows, and the names of the cluster's pieces.
///
/// `defaults` is the seed configuration (docs/contracts.md); the checked-in `argocd/` and `cluster/`
/// folders are its render.
public struct ArgoCDSettings: Sendable, Hashable {
    /// The gitops repository Manifestor commits to and Argo CD pulls.
    public var gitopsRepoURL: String
    public var gitopsBranch: String
    /// The AiWorker code repository, source of the control plane's own manifests.
    public var codeRepoURL: String
    public var codeRevision: String
    /// Manifestor's own repository: Argo CD runs Manifestor from its `deploy/` (a kustomization).
    public var manifestorRepoURL: String
    public var manifestorRevision: String
    /// Previews are served at `task-<id>.<previewDomain>`.
    public var previewDomain: String
    /// Where Argo CD runs; its Applications, projects and repository Secrets live here.
    public var argocdNamespace: String
    /// The AppProject of every Application the ApplicationSets generate (previews, staging and
    /// production of every project). The control plane has its own, `control-plane`.
    public var project: String
    /// The cert-manager ClusterIssuer that issues the preview wildcard certificate (DNS-01).
    public var clusterIssuer: String
    /// The ingress-nginx controller's namespace, where the wildcard certificate's Secret lives.
    public var ingressNamespace: String

    public init(
        gitopsRepoURL: String = "https://git.fuq.tv/admin/aiworker-gitops.git",
        gitopsBranch: String = "main",
        codeRepoURL: String = "https://git.fuq.tv/admin/aiworker.git",
        codeRevision: String = "main",
        manifestorRepoURL: String = "https://git.fuq.tv/admin/manifestor.git",
        manifestorRevision: String = "main",
        previewDomain: String = "r.fuq.tv",
        argocdNamespace: String = "argocd",
        project: String = "aiworker",
        clusterIssuer: String = "letsencrypt-prod",
        ingressNamespace: String = "ingress-nginx"
    ) {
        self.gitopsRepoURL = gitopsRepoURL
        self.gitopsBranch = gitopsBranch
        self.codeRepoURL = codeRepoURL
        self.codeRevision = codeRevision
        self.manifestorRepoURL = manifestorRepoURL
        self.manifestorRevision = manifestorRevision
        self.previewDomain = previewDomain
        self.argocdNamespace = argocdNamespace
        self.project = project
        self.clusterIssuer = clusterIssuer
        self.ingressNamespace = ingressNamespace
    }

    public static let defaults = ArgoCDSettings()
}
