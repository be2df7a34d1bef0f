import KubeModel

extension ArgoCDManifests {
    /// The AppProject of every project's environments (`ArgoCDSettings.project`, `aiworker` by
    /// default). Its Applications come from the gitops repository only, and deploy into
    /// exactly the three kinds of namespace Manifestor renders: a preview's `preview-task-<id>`
    /// and a project's `<project>-staging` and `<project>-production`. Not `control-plane`,
    /// nor a bare `staging` or `production`, nor anything else of the cluster.
    static func project(_ s: ArgoCDSettings) -> AppProject {
        AppProject(
            metadata: meta(s.project, s),
            sourceRepos: [s.gitopsRepoURL],
            destinations: [previewNamespaceGlob, stagingNamespaceGlob, productionNamespaceGlob]
                .map { ApplicationDestination(namespace: $0) },
            description: "Previews, staging and production of every project, from the gitops repository; rendered by manifestor argocd",
            roles: [manifestorRole(s)],
            clusterResourceWhitelist: clusterScopedKinds,
            namespaceResourceWhitelist: namespacedKinds
        )
    }

    /// The role whose token Manifestor reads the project's Applications with (`argocd.tokenFile`):
    /// `applications, get` on the project's Applications, which also lets it ask for a refresh
    /// (`GET /api/v1/applications/{name}?refresh=normal`), and nothing else.
    static func manifestorRole(_ s: ArgoCDSettings) -> ProjectRole {
        ProjectRole(name: "manifestor",
                    description: "Manifestor reads and refreshes this project's Applications (status, readiness, the promotion gate)",
                    policies: ["p, proj:\(s.project):manifestor, applications, get, \(s.project)/*, allow"])
    }

    /// The control plane's own AppProject: the code repositories into `control-plane`, nothing
    /// else. Kept apart so that no project's Application, whatever its directory says, is
    /// admitted there.
    static func controlPlaneAppProject(_ s: ArgoCDSettings) -> AppProject {
        AppProject(
            metadata: meta(controlPlaneProject, s),
            sourceRepos: [s.codeRepoURL, s.manifestorRepoURL],
            destinations: [ApplicationDestination(namespace: controlPlaneNamespace)],
            description: "The AiWorker control plane and Manifestor, from their code repositories; rendered by manifestor argocd",
            clusterResourceWhitelist: clusterScopedKinds,
            namespaceResourceWhitelist: namespacedKinds
        )
    }
}
