import KubeModel

// The three ApplicationSets: one git directory generator each over the gitops repository, one
// Application per directory. `{{path}}` is the directory (`staging/shop`), `{{path.basename}}`
// its last segment (`shop`, or `task-<id>` for a preview).

extension ArgoCDManifests {
    /// `preview/task-<id>` → Application `preview-task-<id>` into `preview-task-<id>`.
    /// The directory renders its own Namespace (so it is pruned with the rest): no CreateNamespace.
    /// Deleting the directory deletes the Application, and the resources finalizer makes that
    /// delete the preview's objects and its Namespace.
    static func previewApplicationSet(_ s: ArgoCDSettings) -> ApplicationSet {
        directoryApplicationSet(
            s, name: previewApplicationSetName, environment: "preview", glob: previewDirectoryGlob,
            applicationName: "preview-{{path.basename}}", namespace: "preview-{{path.basename}}",
            finalizers: [resourcesFinalizer],
            // PruneLast removes old objects only after the new ones are healthy.
            syncPolicy: SyncPolicy(automated: AutomatedSync(prune: true, selfHeal: true),
                                   syncOptions: ["PruneLast=true"], retry: retry),
            preserveResourcesOnDeletion: false
        )
    }

    /// `staging/<project>` → Application `staging-<project>` into `<project>-staging`, synced
    /// automatically. Argo CD creates the namespace. Deleting a project's staging directory
    /// deletes its Application and, through the finalizer, its objects.
    static func stagingApplicationSet(_ s: ArgoCDSettings) -> ApplicationSet {
        directoryApplicationSet(
            s, name: stagingApplicationSetName, environment: "staging", glob: stagingDirectoryGlob,
            applicationName: "staging-{{path.basename}}", namespace: "{{path.basename}}-staging",
            finalizers: [resourcesFinalizer],
            syncPolicy: SyncPolicy(automated: AutomatedSync(prune: true, selfHeal: true),
                                   syncOptions: ["CreateNamespace=true", "PruneLast=true"], retry: retry),
            preserveResourcesOnDeletion: false
        )
    }

    /// `production/<project>` → Application `production-<project>` into `<project>-production`.
    /// No `automated`: Argo CD shows it OutOfSync after a promotion and a person syncs. Nothing
    /// deletes production objects: the template names no finalizer, and `preserveResourcesOnDeletion`
    /// keeps the controller from adding the resources finalizer it otherwise gives such a template.
    /// Removing a directory, or the ApplicationSet, removes only the Applications.
    static func productionApplicationSet(_ s: ArgoCDSettings) -> ApplicationSet {
        directoryApplicationSet(
            s, name: productionApplicationSetName, environment: "production", glob: productionDirectoryGlob,
            applicationName: "production-{{path.basename}}", namespace: "{{path.basename}}-production",
            finalizers: [],
            syncPolicy: SyncPolicy(syncOptions: ["CreateNamespace=true", "PruneLast=true"]),
            preserveResourcesOnDeletion: true
        )
    }

    /// Every generated Application follows the gitops branch, deploys to the cluster Argo CD runs
    /// in, and belongs to the environments' AppProject (`ArgoCDSettings.project`).
    private static func directoryApplicationSet(
        _ s: ArgoCDSettings, name: String, environment: String, glob: String,
        applicationName: String, namespace: String, finalizers: [String],
        syncPolicy: SyncPolicy, preserveResourcesOnDeletion: Bool
    ) -> ApplicationSet {
        ApplicationSet(
            metadata: meta(name, s, environment: environment),
            goTemplate: false,
            generator: GitDirectoryGenerator(repoURL: s.gitopsRepoURL, directories: [glob], revision: s.gitopsBranch),
            template: ApplicationTemplate(
                name: applicationName,
                labels: labels(environment: environment),
                finalizers: finalizers,
                spec: ApplicationSpec(
                    source: ApplicationSource(repoURL: s.gitopsRepoURL, path: "{{path}}", targetRevision: s.gitopsBranch),
                    destination: ApplicationDestination(namespace: namespace),
                    project: s.project,
                    syncPolicy: syncPolicy
                )
            ),
            preserveResourcesOnDeletion: preserveResourcesOnDeletion
        )
    }
}
