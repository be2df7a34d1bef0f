import KubeModel

/// The Argo CD side of the platform, rendered from `ArgoCDSettings` so that the checked-in
/// `argocd/` folder never drifts from the configuration.
///
/// - AppProject `aiworker`: the only repositories, namespaces and kinds its Applications may use.
/// - ApplicationSet `preview-environments`: one Application per `preview/<dir>` of the gitops repo.
/// - Applications `staging` (automated) and `production` (a person syncs).
/// - Applications `control-plane-backend` and `control-plane-frontend` from the code repository.
/// - Repository Secrets for both repositories, with placeholders instead of credentials.
public enum ArgoCDManifests {
    public static let partOfLabel = "app.kubernetes.io/part-of"
    public static let managedByLabel = "app.kubernetes.io/managed-by"
    /// Which environment an Application deploys, so `argocd app list -l aiworker.dev/environment=preview` works.
    public static let environmentLabel = "aiworker.dev/environment"
    /// Makes Argo CD delete an Application's resources (here: a preview's objects and its
    /// Namespace) before the Application itself goes away.
    public static let resourcesFinalizer = "resources-finalizer.argocd.argoproj.io"

    public static let previewApplicationSetName = "preview-environments"
    /// The gitops repository's preview directories, the ApplicationSet's unit.
    public static let previewDirectoryGlob = "preview/*"
    public static let stagingNamespace = "staging"
    public static let productionNamespace = "production"
    public static let controlPlaneNamespace = "control-plane"
    /// Matches `preview-task-<id>` and nothing else of the cluster.
    public static let previewNamespaceGlob = "preview-task-*"

    /// The namespaced kinds the rendered environments use. A closed list rather than "all":
    /// a preview directory is written from a request, so the project refuses anything that
    /// would widen what a preview can do in its namespace (Role, RoleBinding, Secret, Pod, …).
    /// Adding a kind to the templates means adding it here; the tests check the rendered
    /// previews against this list.
    public static let namespacedKinds: [GroupKind] = [
        GroupKind(group: "", kind: "ConfigMap"),
        GroupKind(group: "", kind: "LimitRange"),
        GroupKind(group: "", kind: "ResourceQuota"),
        GroupKind(group: "", kind: "Service"),
        GroupKind(group: "", kind: "ServiceAccount"),
        GroupKind(group: "apps", kind: "Deployment"),
        GroupKind(group: "autoscaling", kind: "HorizontalPodAutoscaler"),
        GroupKind(group: "batch", kind: "Job"),
        GroupKind(group: "networking.k8s.io", kind: "Ingress"),
        GroupKind(group: "networking.k8s.io", kind: "NetworkPolicy"),
        GroupKind(group: "policy", kind: "PodDisruptionBudget"),
    ]

    /// The only cluster-scoped kind: each environment renders its own Namespace.
    public static let clusterScopedKinds: [GroupKind] = [GroupKind(group: "", kind: "Namespace")]

    /// Syncs that fail (an image not yet pullable, a webhook not ready) are retried:
    /// 10s, 20s, 40s, … up to 3 minutes apart, five times.
    public static let retry = RetryStrategy(limit: 5, backoffDuration: "10s", backoffFactor: 2, backoffMaxDuration: "3m")

    /// One file per object, `<kind>-<name>.yaml`, sorted by file name.
    public static func render(_ s: ArgoCDSettings) -> [(fileName: String, yaml: String)] {
        objects(s)
            .map { (fileName: $0.fileName, yaml: $0.yaml) }
            .sorted { $0.fileName.utf8.lexicographicallyPrecedes($1.fileName.utf8) }
    }

    static func objects(_ s: ArgoCDSettings) -> [AnyKubeObject] {
        [
            AnyKubeObject(project(s)),
            AnyKubeObject(previewApplicationSet(s)),
            AnyKubeObject(stagingApplication(s)),
            AnyKubeObject(productionApplication(s)),
            AnyKubeObject(controlPlaneApplication(s, component: "backend")),
            AnyKubeObject(controlPlaneApplication(s, component: "frontend")),
            AnyKubeObject(RepositorySecret(metadata: meta("gitops-repository", s), url: s.gitopsRepoURL)),
            AnyKubeObject(RepositorySecret(metadata: meta("code-repository", s), url: s.codeRepoURL)),
        ]
    }

    static var commonLabels: [String: String] {
        [partOfLabel: "aiworker", managedByLabel: "manifestor"]
    }

    private static func meta(_ name: String, _ s: ArgoCDSettings, environment: String? = nil) -> ObjectMeta {
        var labels = commonLabels
        if let environment { labels[environmentLabel] = environment }
        return ObjectMeta(name: name, namespace: s.argocdNamespace, labels: labels)
    }

    static func project(_ s: ArgoCDSettings) -> AppProject {
        AppProject(
            metadata: meta(s.project, s),
            sourceRepos: [s.gitopsRepoURL, s.codeRepoURL],
            destinations: [previewNamespaceGlob, stagingNamespace, productionNamespace, controlPlaneNamespace]
                .map { ApplicationDestination(namespace: $0) },
            description: "AiWorker previews, staging, production and control plane; rendered by manifestor argocd",
            clusterResourceWhitelist: clusterScopedKinds,
            namespaceResourceWhitelist: namespacedKinds
        )
    }

    static func previewApplicationSet(_ s: ArgoCDSettings) -> ApplicationSet {
        var labels = commonLabels
        labels[environmentLabel] = "preview"
        return ApplicationSet(
            metadata: meta(previewApplicationSetName, s, environment: "preview"),
            goTemplate: false,
            generator: GitDirectoryGenerator(repoURL: s.gitopsRepoURL, directories: [previewDirectoryGlob], revision: s.gitopsBranch),
            template: ApplicationTemplate(
                name: "preview-{{path.basename}}",
                labels: labels,
                finalizers: [resourcesFinalizer],
                spec: ApplicationSpec(
                    source: ApplicationSource(repoURL: s.gitopsRepoURL, path: "{{path}}", targetRevision: s.gitopsBranch),
                    destination: ApplicationDestination(namespace: "preview-{{path.basename}}"),
                    project: s.project,
                    // The directory renders its own Namespace (so it is pruned with the rest): no
                    // CreateNamespace. PruneLast removes old objects only after the new ones are healthy.
                    syncPolicy: SyncPolicy(automated: AutomatedSync(prune: true, selfHeal: true),
                                           syncOptions: ["PruneLast=true"], retry: retry)
                )
            ),
            preserveResourcesOnDeletion: false
        )
    }

    static func stagingApplication(_ s: ArgoCDSettings) -> Application {
        Application(
            metadata: meta("staging", s, environment: "staging"),
            spec: ApplicationSpec(
                source: ApplicationSource(repoURL: s.gitopsRepoURL, path: "staging", targetRevision: s.gitopsBranch),
                destination: ApplicationDestination(namespace: stagingNamespace),
                project: s.project,
                syncPolicy: SyncPolicy(automated: AutomatedSync(prune: true, selfHeal: true),
                                       syncOptions: ["CreateNamespace=true", "PruneLast=true"], retry: retry)
            )
        )
    }

    /// No `automated`: Argo CD shows production OutOfSync after a promotion and a person syncs.
    /// No resources finalizer either: deleting the Application must never delete production.
    static func productionApplication(_ s: ArgoCDSettings) -> Application {
        Application(
            metadata: meta("production", s, environment: "production"),
            spec: ApplicationSpec(
                source: ApplicationSource(repoURL: s.gitopsRepoURL, path: "production", targetRevision: s.gitopsBranch),
                destination: ApplicationDestination(namespace: productionNamespace),
                project: s.project,
                syncPolicy: SyncPolicy(syncOptions: ["CreateNamespace=true", "PruneLast=true"])
            )
        )
    }

    static func controlPlaneApplication(_ s: ArgoCDSettings, component: String) -> Application {
        Application(
            metadata: meta("control-plane-\(component)", s, environment: "control-plane"),
            spec: ApplicationSpec(
                source: ApplicationSource(repoURL: s.codeRepoURL, path: "k8s/\(component)", targetRevision: s.codeRevision),
                destination: ApplicationDestination(namespace: controlPlaneNamespace),
                project: s.project,
                syncPolicy: SyncPolicy(automated: AutomatedSync(prune: true, selfHeal: true),
                                       syncOptions: ["CreateNamespace=true"], retry: retry)
            )
        )
    }
}
