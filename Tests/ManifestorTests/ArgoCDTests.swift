import Foundation
import KubeModel
import Templates
import Testing
import Yams

@testable import ArgoCD

// Issue 6's acceptance list, and the Projects issue's, one suite each:
//  1. argocd/ validates strictly against the Argo CD 3.6 CRDs          → ArgoCDSchemaTests
//  2. the ApplicationSets' git directory generators, played over a
//     gitops repository with two projects (aiworker and shop)          → GeneratorPlayTests
//  3. the AppProjects' rules, evaluated as Argo CD does                 → AppProjectRulesTests
//  4. the checked-in folders are the render of the defaults             → ArgoCDCheckedInTests

// MARK: - 1. Strict schema validation

@Suite("Argo CD manifests validate strictly against the 3.6 CRDs")
struct ArgoCDSchemaTests {
    @Test("the checked-in argocd/ folder passes scripts/validate-argocd.py")
    func checkedInFolderValidates() throws {
        let result = try ArgoCDFixtures.validate(repoRoot().appendingPathComponent("argocd"))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("a fresh render passes, for the defaults and for another configuration")
    func freshRenderValidates() throws {
        let root = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let other = ArgoCDSettings(
            gitopsRepoURL: "ssh://git@git.example.com:2222/platform/gitops.git", gitopsBranch: "release",
            codeRepoURL: "https://git.example.com/platform/aiworker", codeRevision: "v1.2.3",
            previewDomain: "preview.example.com", argocdNamespace: "gitops", project: "platform"
        )
        for (name, settings) in [("defaults", ArgoCDSettings.defaults), ("other", other)] {
            try settings.validate()
            let dir = root.appendingPathComponent(name)
            try ArgoCDManifests.write(ArgoCDManifests.render(settings), to: dir)
            let result = try ArgoCDFixtures.validate(dir)
            #expect(result.status == 0, "\(name): \(result.stderr)")
        }
    }

    @Test("the check can fail: an unknown key, deep or at the top, is refused with file and key path")
    func unknownKeysAreRefused() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ArgoCDManifests.write(ArgoCDManifests.render(.defaults), to: dir)

        // A misspelt field that the plain openAPIV3Schema would let through and the API server drop.
        try ArgoCDFixtures.edit(dir.appendingPathComponent("applicationset-preview-environments.yaml"),
                                replacing: "          selfHeal: true\n",
                                with: "          selfHeal: true\n          selfHeel: true\n")
        try ArgoCDFixtures.edit(dir.appendingPathComponent("appproject-aiworker.yaml"),
                                replacing: "  name: aiworker\n", with: "  name: aiworker\n  nmespace: argocd\n")
        // The Secret goes through kubernetes-validate --strict.
        try ArgoCDFixtures.edit(dir.appendingPathComponent("secret-gitops-repository.yaml"),
                                replacing: "type: Opaque\n", with: "type: Opaque\nstringdata: {}\n")

        let result = try ArgoCDFixtures.validate(dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains("applicationset-preview-environments.yaml: spec.template.spec.syncPolicy.automated.selfHeel: unknown key"),
                "\(result.stderr)")
        #expect(result.stderr.contains("appproject-aiworker.yaml: metadata.nmespace: unknown key"), "\(result.stderr)")
        #expect(result.stderr.contains("secret-gitops-repository.yaml: stringdata: unknown key"), "\(result.stderr)")
        // Untouched files are not reported.
        #expect(!result.stderr.contains("applicationset-staging-environments.yaml"))
    }

    @Test("a wrong type is refused too")
    func wrongTypeIsRefused() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ArgoCDManifests.write(ArgoCDManifests.render(.defaults), to: dir)
        try ArgoCDFixtures.edit(dir.appendingPathComponent("applicationset-staging-environments.yaml"),
                                replacing: "          prune: true\n", with: "          prune: \"yes\"\n")
        let result = try ArgoCDFixtures.validate(dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains(
            "applicationset-staging-environments.yaml: spec.template.spec.syncPolicy.automated.prune: 'yes' is not of type 'boolean'"),
                "\(result.stderr)")
    }
}

// MARK: - 2. The ApplicationSets' git directory generators, played

@Suite("The ApplicationSets, played over a gitops repository with two projects")
struct GeneratorPlayTests {
    @Test("every preview/<dir> becomes an Application whose name and namespace match the directory's objects")
    func generatedApplicationsMatchPreviewDirectories() throws {
        let repo = try ArgoCDFixtures.GitopsCheckout.make()
        defer { repo.remove() }
        let appSet = try ArgoCDFixtures.play("applicationset-preview-environments.yaml")

        #expect(appSet.repoURL == ArgoCDSettings.defaults.gitopsRepoURL)
        #expect(appSet.revision == ArgoCDSettings.defaults.gitopsBranch)

        let generated = try appSet.applications(directories: repo.directories())
        // Only the previews (of both projects): not preview/ itself, not staging/<project> or production/<project>.
        #expect(generated.map(\.path).sorted() == repo.previewDirectories)
        try #require(repo.previewDirectories.count == ArgoCDFixtures.taskIDs.count + ArgoCDFixtures.shopTaskIDs.count)

        for app in generated {
            let objects = try repo.objects(in: app.path)
            let namespaces = objects.filter { $0.kind == "Namespace" }
            try #require(namespaces.count == 1, "\(app.path) renders exactly one Namespace")
            let namespace = namespaces[0].name

            #expect(app.name == namespace, "\(app.path): Application \(app.name) vs Namespace \(namespace)")
            #expect(app.destinationNamespace == namespace, "\(app.path)")
            #expect(NameRules.isDNSLabel(app.name), "\(app.name) must stay a DNS label")
            for object in objects where object.kind != "Namespace" {
                #expect(object.namespace == namespace, "\(app.path)/\(object.file): metadata.namespace \(object.namespace ?? "absent")")
            }
            #expect(app.sourcePath == app.path)
            #expect(app.sourceRepoURL == appSet.repoURL)
            #expect(app.targetRevision == appSet.revision)
            #expect(app.project == ArgoCDSettings.defaults.project)
            #expect(app.labels[ArgoCDManifests.environmentLabel] == "preview")
            // Deleting the directory deletes the Application; the finalizer makes that delete the
            // preview's objects and its Namespace; automated prune and self-heal keep it in step.
            #expect(app.finalizers == [ArgoCDManifests.resourcesFinalizer])
            #expect(app.automated && app.automatedPrune == true && app.automatedSelfHeal == true)
            #expect(!app.syncOptions.contains("CreateNamespace=true"), "the directory renders its own Namespace")
            #expect(app.retryLimit != nil)
        }
    }

    @Test("staging/<project> and production/<project> become <env>-<project>, deploying into <project>-<env> what the directory holds")
    func stableEnvironmentsOfEveryProject() throws {
        let repo = try ArgoCDFixtures.GitopsCheckout.make()
        defer { repo.remove() }
        let directories = try repo.directories()
        let services = ["aiworker": ["backend", "frontend"], "shop": ["api", "web"]]
        for environment in ["staging", "production"] {
            let appSet = try ArgoCDFixtures.play("applicationset-\(environment)-environments.yaml")
            #expect(appSet.repoURL == ArgoCDSettings.defaults.gitopsRepoURL)
            #expect(appSet.revision == ArgoCDSettings.defaults.gitopsBranch)

            let generated = try appSet.applications(directories: directories).sorted { $0.name < $1.name }
            #expect(generated.map(\.name) == ["\(environment)-aiworker", "\(environment)-shop"])
            #expect(generated.map(\.destinationNamespace) == ["aiworker-\(environment)", "shop-\(environment)"])
            #expect(generated.map(\.path) == ["\(environment)/aiworker", "\(environment)/shop"])

            for app in generated {
                let project = String(app.path.split(separator: "/").last ?? "")
                #expect(app.sourcePath == app.path)
                #expect(app.sourceRepoURL == appSet.repoURL && app.targetRevision == appSet.revision)
                #expect(app.destinationServer == ApplicationDestination.inClusterServer)
                #expect(app.project == ArgoCDSettings.defaults.project)
                #expect(app.labels[ArgoCDManifests.environmentLabel] == environment)
                // The directory renders no Namespace: Argo CD creates it, and prunes last.
                #expect(app.syncOptions == ["CreateNamespace=true", "PruneLast=true"], "\(app.name)")

                let objects = try repo.objects(in: app.path)
                try #require(!objects.isEmpty, "\(app.path)")
                #expect(objects.filter { $0.kind == "Deployment" }.map(\.name).sorted() == services[project], "\(app.path)")
                for object in objects {
                    #expect(object.kind != "Namespace", "\(app.path)/\(object.file)")
                    #expect(object.namespace == app.destinationNamespace,
                            "\(app.path)/\(object.file): metadata.namespace \(object.namespace ?? "absent") vs \(app.destinationNamespace)")
                }
            }
        }
    }

    @Test("staging syncs by itself and goes with its directory; production waits for a person and its objects are never deleted")
    func syncAndDeletionPolicies() throws {
        let repo = try ArgoCDFixtures.GitopsCheckout.make(taskIDs: [], shopTaskIDs: [])
        defer { repo.remove() }
        let directories = try repo.directories()
        let staging = try ArgoCDFixtures.play("applicationset-staging-environments.yaml").applications(directories: directories)
        let productionYAML = try ArgoCDFixtures.renderedFile("applicationset-production-environments.yaml")
        let production = try ApplicationSetPlay(yaml: productionYAML).applications(directories: directories)
        try #require(staging.count == 2 && production.count == 2)

        for app in staging {
            #expect(app.automated && app.automatedPrune == true && app.automatedSelfHeal == true, "\(app.name)")
            #expect(app.retryLimit == ArgoCDManifests.retry.limit, "\(app.name)")
            #expect(app.finalizers == [ArgoCDManifests.resourcesFinalizer], "\(app.name): removing staging/<project> removes its objects")
        }
        for app in production {
            #expect(!app.automated, "\(app.name): a person syncs production")
            #expect(app.automatedPrune == nil && app.automatedSelfHeal == nil, "\(app.name)")
            #expect(app.finalizers == [], "\(app.name): deleting the Application must leave production running")
        }

        // Argo CD gives a template without finalizers the resources finalizer unless the
        // ApplicationSet preserves resources: that flag is what keeps production's objects.
        let unprotectedYAML = productionYAML.replacingOccurrences(of: "preserveResourcesOnDeletion: true", with: "preserveResourcesOnDeletion: false")
        try #require(unprotectedYAML != productionYAML)
        for app in try ApplicationSetPlay(yaml: unprotectedYAML).applications(directories: directories) {
            #expect(app.finalizers == [ArgoCDManifests.resourcesFinalizer], "\(app.name)")
        }
    }

    @Test("together the generators claim each environment directory once, into its own namespace, and nothing else")
    func generatorsPartitionTheRepository() throws {
        let repo = try ArgoCDFixtures.GitopsCheckout.make()
        defer { repo.remove() }
        let apps = try ArgoCDFixtures.applications(directories: repo.directories())
        let previews = repo.previewDirectories.map { "preview-" + ($0.split(separator: "/").last.map(String.init) ?? "") }
        #expect(apps.map(\.name).sorted() == (previews + ["production-aiworker", "production-shop", "staging-aiworker", "staging-shop"]).sorted())
        #expect(Set(apps.map(\.path)).count == apps.count, "a directory claimed twice")
        #expect(Set(apps.map(\.destinationNamespace)).count == apps.count, "two Applications share a namespace")
        for app in apps {
            #expect(NameRules.isDNSLabel(app.name) && NameRules.isDNSLabel(app.destinationNamespace), "\(app.name)")
        }
        // The longest project name still gives DNS labels.
        let longest = String(repeating: "p", count: 22)
        try ProjectName.validate(longest)
        for app in try ArgoCDFixtures.applications(directories: ["staging/\(longest)", "production/\(longest)"]) {
            #expect(NameRules.isDNSLabel(app.name) && NameRules.isDNSLabel(app.destinationNamespace), "\(app.name)")
        }
    }

    @Test("the skeleton yields no Application: staging/.gitkeep is a file, and the generator lists directories only")
    func skeletonYieldsNothing() throws {
        let skeleton = ArgoCDFixtures.GitopsCheckout(root: repoRoot().appendingPathComponent("gitops-skeleton"))
        for top in ["preview", "staging", "production"] {
            #expect(FileManager.default.fileExists(atPath: skeleton.root.appendingPathComponent("\(top)/.gitkeep").path), "\(top)")
        }
        #expect(try skeleton.directories() == ["preview", "production", "staging"])
        #expect(try ArgoCDFixtures.applications(directories: skeleton.directories()).isEmpty)
        // path.Match alone would take the file: only the directory listing keeps it out.
        #expect(ApplicationSetPlay.goPathMatch("staging/*", "staging/.gitkeep"))

        // Argo CD's repo-server also skips hidden directories.
        let repo = try ArgoCDFixtures.GitopsCheckout.make(taskIDs: [], shopTaskIDs: [])
        defer { repo.remove() }
        try FileManager.default.createDirectory(at: repo.root.appendingPathComponent("staging/.old"), withIntermediateDirectories: true)
        #expect(try !repo.directories().contains("staging/.old"))
        #expect(try repo.directories().contains("staging/shop"))
    }

    @Test("parameters follow Argo CD: path.Match on the directory, path.Base for the basename")
    func parametersAsArgoCDDerivesThem() throws {
        let params = ApplicationSetPlay.parameters(forDirectory: "preview/task-abc123")
        #expect(params["path"] == "preview/task-abc123")
        #expect(params["path.basename"] == "task-abc123")
        #expect(params["path[0]"] == "preview")
        #expect(params["path[1]"] == "task-abc123")
        #expect(params["path.basenameNormalized"] == "task-abc123")
        #expect(ApplicationSetPlay.sanitizeName("-Task_ABC.") == "task-abc")
        #expect(ApplicationSetPlay.goPathMatch("preview/*", "preview/task-a"))
        #expect(!ApplicationSetPlay.goPathMatch("preview/*", "preview"))
        #expect(!ApplicationSetPlay.goPathMatch("preview/*", "preview/task-a/nested"))
        #expect(!ApplicationSetPlay.goPathMatch("preview/*", "staging"))
        #expect(ApplicationSetPlay.goPathMatch("staging/*", "staging/shop"))
        #expect(!ApplicationSetPlay.goPathMatch("staging/*", "production/shop"))
        #expect(try ApplicationSetPlay.fasttemplate("preview-{{path.basename}}", params) == "preview-task-abc123")
        #expect(try ApplicationSetPlay.fasttemplate("{{ path }}", params) == "preview/task-abc123")
        #expect(try ApplicationSetPlay.fasttemplate("{{path.basename}}-staging", ApplicationSetPlay.parameters(forDirectory: "staging/shop"))
                == "shop-staging")
        #expect(throws: (any Error).self) { try ApplicationSetPlay.fasttemplate("{{path.nope}}", params) }
    }
}

// MARK: - 3. The AppProjects' rules

@Suite("The AppProjects admit what Manifestor deploys and nothing else")
struct AppProjectRulesTests {
    static let server = ApplicationDestination.inClusterServer
    static let controlPlaneFiles = ["application-control-plane-backend.yaml", "application-control-plane-frontend.yaml",
                                    "application-control-plane-manifestor.yaml"]

    @Test("the environments' project: exactly preview-task-*, *-staging and *-production, from the gitops repository")
    func environmentsProjectIsNarrow() throws {
        let rules = try ArgoCDFixtures.rules("appproject-aiworker.yaml")
        #expect(rules.name == ArgoCDSettings.defaults.project)
        #expect(rules.destinations.map { $0.namespace } == ["preview-task-*", "*-staging", "*-production"])
        #expect(rules.destinations.allSatisfy { $0.server == Self.server })
        #expect(rules.sourceRepos == [ArgoCDSettings.defaults.gitopsRepoURL])
    }

    @Test("it admits every generated Application of both projects, and every object each of them syncs")
    func admitsGeneratedApplications() throws {
        let rules = try ArgoCDFixtures.rules("appproject-aiworker.yaml")
        let repo = try ArgoCDFixtures.GitopsCheckout.make()
        defer { repo.remove() }
        let apps = try ArgoCDFixtures.applications(directories: repo.directories())
        try #require(apps.count == repo.previewDirectories.count + 4)
        for app in apps {
            #expect(rules.refusals(app) == [], "\(app.name)")
            let objects = try repo.objects(in: app.path)
            try #require(!objects.isEmpty, "\(app.path)")
            for object in objects {
                #expect(rules.resourceRefusal(object, server: app.destinationServer) == nil, "\(app.path)/\(object.file)")
            }
        }
        // The control plane is not theirs: its Applications are refused here, by repository and namespace.
        for file in Self.controlPlaneFiles {
            var app = try AppView(document: ArgoCDFixtures.load(ArgoCDFixtures.renderedFile(file)))
            app.project = rules.name
            let refusals = rules.refusals(app)
            #expect(refusals.contains { $0.hasPrefix("source") } && refusals.contains { $0.hasPrefix("destination") }, "\(file): \(refusals)")
        }
    }

    @Test("it refuses another repository, a namespace outside the three patterns, and cluster-scoped kinds other than Namespace")
    func refusesEverythingElse() throws {
        let rules = try ArgoCDFixtures.rules("appproject-aiworker.yaml")
        let staging = try ArgoCDFixtures.application("staging-shop", directories: ["staging/shop"])

        for repo in ["https://git.fuq.tv/admin/other.git", "https://git.fuq.tv/admin/aiworker-gitops-fork.git",
                     "https://evil.example/admin/aiworker-gitops.git", "https://git.fuq.tv/admin/aiworker-gitops.git/../other",
                     ArgoCDSettings.defaults.codeRepoURL] {
            var app = staging
            app.sourceRepoURL = repo
            #expect(rules.refusals(app).contains { $0.hasPrefix("source") }, "\(repo)")
        }
        let refused = ["kube-system", "default", "argocd", "ingress-nginx", "cert-manager", "control-plane",
                       "preview-other", "preview-taskx", "staging", "production", "stagingx", "shop-stagingx", "shop-productionx"]
        for namespace in refused {
            var app = staging
            app.destinationNamespace = namespace
            #expect(rules.refusals(app).contains { $0.hasPrefix("destination") }, "\(namespace)")
        }
        // A project registered later needs no change to the project.
        for namespace in ["shop-staging", "shop-production", "billing-staging", "billing-production", "preview-task-abc"] {
            var app = staging
            app.destinationNamespace = namespace
            #expect(rules.refusals(app) == [], "\(namespace)")
        }
        var otherCluster = staging
        otherCluster.destinationServer = "https://other-cluster.example:6443"
        #expect(rules.refusals(otherCluster).contains { $0.hasPrefix("destination") })
        var otherProject = staging
        otherProject.project = "default"
        #expect(!rules.refusals(otherProject).isEmpty)

        // Argo CD normalises repository URLs (case, a trailing .git) before matching.
        var sameRepo = staging
        sameRepo.sourceRepoURL = "https://git.fuq.tv/admin/AiWorker-GitOps"
        #expect(rules.refusals(sameRepo) == [])

        let clusterScoped = [("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
                             ("apiextensions.k8s.io", "CustomResourceDefinition"), ("", "PersistentVolume"),
                             ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")]
        for (group, kind) in clusterScoped {
            #expect(!rules.isGroupKindPermitted(group: group, kind: kind, namespaced: false), "\(kind)")
        }
        #expect(rules.isGroupKindPermitted(group: "", kind: "Namespace", namespaced: false))
        // Namespaced kinds that would widen what a preview can do are not in the list either.
        for (group, kind) in [("", "Secret"), ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"), ("", "Pod")] {
            #expect(!rules.isGroupKindPermitted(group: group, kind: kind, namespaced: true), "\(kind)")
        }
        // An allowed kind in a refused namespace is still refused, whatever the directory says.
        for namespace in ["kube-system", "control-plane", "staging"] {
            let intruder = CheckoutObject(file: "x.yaml", apiVersion: "apps/v1", kind: "Deployment", name: "x", namespace: namespace)
            #expect(rules.resourceRefusal(intruder, server: Self.server) != nil, "\(namespace)")
        }
    }

    @Test("the control plane's project admits its Applications and nothing else: the code repositories into control-plane")
    func controlPlaneProject() throws {
        let rules = try ArgoCDFixtures.rules("appproject-control-plane.yaml")
        let environments = try ArgoCDFixtures.rules("appproject-aiworker.yaml")
        #expect(rules.name == ArgoCDManifests.controlPlaneProject)
        #expect(rules.destinations.map { $0.namespace } == [ArgoCDManifests.controlPlaneNamespace])
        #expect(rules.destinations.allSatisfy { $0.server == Self.server })
        #expect(rules.sourceRepos == [ArgoCDSettings.defaults.codeRepoURL, ArgoCDSettings.defaults.manifestorRepoURL])
        // The same kinds as the environments' project.
        #expect(rules.clusterWhitelist.map { "\($0.group)/\($0.kind)" } == environments.clusterWhitelist.map { "\($0.group)/\($0.kind)" })
        #expect(rules.namespaceWhitelist?.map { "\($0.group)/\($0.kind)" } == environments.namespaceWhitelist?.map { "\($0.group)/\($0.kind)" })

        for file in Self.controlPlaneFiles {
            let app = try AppView(document: ArgoCDFixtures.load(ArgoCDFixtures.renderedFile(file)))
            #expect(app.project == ArgoCDManifests.controlPlaneProject, "\(file)")
            #expect(rules.refusals(app) == [], "\(file)")
            for namespace in ["shop-production", "aiworker-staging", "preview-task-abc", "kube-system", "default", "argocd"] {
                var moved = app
                moved.destinationNamespace = namespace
                #expect(rules.refusals(moved).contains { $0.hasPrefix("destination") }, "\(file) → \(namespace)")
            }
            var fromGitops = app
            fromGitops.sourceRepoURL = ArgoCDSettings.defaults.gitopsRepoURL
            #expect(rules.refusals(fromGitops).contains { $0.hasPrefix("source") }, "\(file)")
        }

        // A generated Application that claimed this project would still be refused: wrong
        // repository, wrong namespace.
        let repo = try ArgoCDFixtures.GitopsCheckout.make(taskIDs: ["abc123"], shopTaskIDs: [])
        defer { repo.remove() }
        for var app in try ArgoCDFixtures.applications(directories: repo.directories()) {
            #expect(!rules.refusals(app).isEmpty, "\(app.name)")
            app.project = rules.name
            let refusals = rules.refusals(app)
            #expect(refusals.contains { $0.hasPrefix("source") } && refusals.contains { $0.hasPrefix("destination") }, "\(app.name): \(refusals)")
        }
        let intruder = CheckoutObject(file: "x.yaml", apiVersion: "apps/v1", kind: "Deployment", name: "x", namespace: "shop-production")
        #expect(rules.resourceRefusal(intruder, server: Self.server) != nil)
    }

    @Test("the glob semantics are Argo CD's")
    func globSemantics() {
        // Destinations: gobwas/glob without separators.
        #expect(ProjectRules.glob("preview-task-*", "preview-task-abc", separators: []))
        #expect(ProjectRules.glob("preview-task-*", "preview-task-", separators: []))
        #expect(!ProjectRules.glob("preview-task-*", "preview-tas", separators: []))
        #expect(ProjectRules.glob("*-staging", "shop-staging", separators: []))
        #expect(!ProjectRules.glob("*-staging", "staging", separators: []))
        #expect(!ProjectRules.glob("*-staging", "shop-staging-x", separators: []))
        #expect(ProjectRules.glob("*", "anything/at/all", separators: []))
        // Source repositories: '/' is a separator, so '*' stays within one path segment.
        #expect(ProjectRules.glob("https://git.fuq.tv/admin/*", "https://git.fuq.tv/admin/x", separators: ["/"]))
        #expect(!ProjectRules.glob("https://git.fuq.tv/admin/*", "https://git.fuq.tv/admin/x/y", separators: ["/"]))
        #expect(ProjectRules.glob("https://git.fuq.tv/**", "https://git.fuq.tv/admin/x/y", separators: ["/"]))
        #expect(ProjectRules.normalizeGitURL(" HTTPS://Git.Fuq.tv/admin/AiWorker.git ") == "https://git.fuq.tv/admin/aiworker")
    }
}

// MARK: - 4. The checked-in folders are the render of the defaults

@Suite("The checked-in argocd/ and cluster/ folders")
struct ArgoCDCheckedInTests {
    @Test("argocd/ equals ArgoCDManifests.render(.defaults) byte for byte")
    func argocdFolderIsTheRender() throws {
        try ArgoCDFixtures.expectFolder(repoRoot().appendingPathComponent("argocd"), equals: ArgoCDManifests.render(.defaults))
    }

    @Test("cluster/ equals ClusterManifests.render(.defaults) byte for byte")
    func clusterFolderIsTheRender() throws {
        try ArgoCDFixtures.expectFolder(repoRoot().appendingPathComponent("cluster"), equals: ClusterManifests.render(.defaults))
    }

    @Test("`manifestor argocd` writes the same files as the checked-in folders")
    func cliWritesTheCheckedInFiles() throws {
        let out = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try run(ArgoCDFixtures.manifestorBinary(), [
            "argocd", "--out", out.appendingPathComponent("argocd").path,
            "--cluster-out", out.appendingPathComponent("cluster").path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        for folder in ["argocd", "cluster"] {
            #expect(try RenderFixtures.snapshot(out.appendingPathComponent(folder))
                    == RenderFixtures.snapshot(repoRoot().appendingPathComponent(folder)), "\(folder)")
        }
    }

    @Test("render is deterministic and names every file <kind>-<name>.yaml")
    func renderIsDeterministic() throws {
        let first = ArgoCDManifests.render(.defaults)
        let second = ArgoCDManifests.render(ArgoCDSettings())
        #expect(first.map(\.fileName) == second.map(\.fileName))
        #expect(first.map(\.yaml) == second.map(\.yaml))
        for file in first {
            let doc = try ArgoCDFixtures.load(file.yaml)
            let kind = try #require(doc["kind"] as? String)
            let name = try #require((doc["metadata"] as? [String: Any])?["name"] as? String)
            #expect(file.fileName == "\(kind.lowercased())-\(name).yaml")
            let labels = (doc["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
            #expect(labels["app.kubernetes.io/part-of"] == "aiworker", "\(file.fileName)")
            #expect(labels["app.kubernetes.io/managed-by"] == "manifestor", "\(file.fileName)")
        }
    }

    @Test("two AppProjects, an ApplicationSet per environment, the control plane's Applications; no single staging or production Application")
    func renderedObjects() {
        #expect(ArgoCDManifests.render(.defaults).map(\.fileName) == [
            "application-control-plane-backend.yaml", "application-control-plane-frontend.yaml",
            "application-control-plane-manifestor.yaml", "applicationset-preview-environments.yaml", "applicationset-production-environments.yaml",
            "applicationset-staging-environments.yaml",
            "appproject-aiworker.yaml", "appproject-control-plane.yaml",
            "secret-code-repository.yaml", "secret-gitops-repository.yaml", "secret-manifestor-repository.yaml",
        ])
        // Another project name renames the environments' AppProject and nothing else.
        let other = ArgoCDManifests.render(ArgoCDSettings(project: "platform")).map(\.fileName)
        #expect(other.contains("appproject-platform.yaml") && other.contains("appproject-control-plane.yaml"))
        #expect(!other.contains("appproject-aiworker.yaml"))
    }

    @Test("the repository Secrets hold placeholders only")
    func secretsHoldPlaceholdersOnly() throws {
        let secrets = ArgoCDManifests.render(.defaults).filter { $0.fileName.hasPrefix("secret-") }
        #expect(secrets.count == 3)
        for file in secrets {
            let doc = try ArgoCDFixtures.load(file.yaml)
            let metadata = try #require(doc["metadata"] as? [String: Any])
            #expect(metadata["namespace"] as? String == "argocd")
            #expect((metadata["labels"] as? [String: String])?["argocd.argoproj.io/secret-type"] == "repository")
            #expect(doc["data"] == nil)
            let data = try #require(doc["stringData"] as? [String: String])
            #expect(data["password"] == "<git-token>")
            #expect(data["username"] == "<git-username>")
            #expect(Set(data.keys) == ["type", "url", "username", "password"])
        }
    }

    @Test("write removes stale *.yaml, keeps other files, replaces changed ones and leaves unchanged ones untouched")
    func writeMakesTheFolderExactlyTheRender() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("stale".utf8).write(to: dir.appendingPathComponent("application-gone.yaml"))
        try Data("keep".utf8).write(to: dir.appendingPathComponent("README.md"))
        let files = ArgoCDManifests.render(.defaults)
        try ArgoCDManifests.write(files, to: dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == (files.map(\.fileName) + ["README.md"]).sorted())

        let staging = dir.appendingPathComponent("applicationset-staging-environments.yaml")
        let past = Date(timeIntervalSince1970: 1_000_000_000)
        try FileManager.default.setAttributes([.modificationDate: past], ofItemAtPath: staging.path)
        try ArgoCDManifests.write(files, to: dir)
        let modified = try FileManager.default.attributesOfItem(atPath: staging.path)[.modificationDate] as? Date
        #expect(modified == past)

        // A file whose bytes differ is replaced in place, with no temporary file left behind.
        try Data("edited by hand\n".utf8).write(to: staging)
        try ArgoCDManifests.write(files, to: dir)
        let expected = try #require(files.first { $0.fileName == staging.lastPathComponent }).yaml
        #expect(FileManager.default.contents(atPath: staging.path) == Data(expected.utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == names)

        #expect(throws: (any Error).self) { try ArgoCDManifests.write(files + [files[0]], to: dir) }
    }

    @Test("the cluster files: a DNS-01 wildcard for previews and ingress-nginx's default certificate")
    func clusterFiles() throws {
        let settings = ArgoCDSettings(previewDomain: "preview.example.com", clusterIssuer: "le-dns", ingressNamespace: "edge")
        let files = Dictionary(uniqueKeysWithValues: ClusterManifests.render(settings).map { ($0.fileName, $0.yaml) })
        let certificate = try ArgoCDFixtures.load(try #require(files["certificate-preview-wildcard.yaml"]))
        let metadata = try #require(certificate["metadata"] as? [String: Any])
        #expect(metadata["namespace"] as? String == "edge")
        let spec = try #require(certificate["spec"] as? [String: Any])
        #expect(spec["dnsNames"] as? [String] == ["*.preview.example.com"])
        #expect(spec["secretName"] as? String == ClusterManifests.secretName)
        #expect((spec["issuerRef"] as? [String: String]) == ["group": "cert-manager.io", "kind": "ClusterIssuer", "name": "le-dns"])

        let values = try ArgoCDFixtures.load(try #require(files["values-ingress-nginx.yaml"]))
        let extraArgs = (values["controller"] as? [String: Any])?["extraArgs"] as? [String: String]
        #expect(extraArgs == ["default-ssl-certificate": "edge/\(ClusterManifests.secretName)"])
    }

    @Test("settings that would render invalid objects are refused")
    func invalidSettingsAreRefused() {
        #expect(throws: InputError.self) { try ArgoCDSettings(argocdNamespace: "Argo CD").validate() }
        #expect(throws: InputError.self) { try ArgoCDSettings(previewDomain: "localhost").validate() }
        #expect(throws: InputError.self) { try ArgoCDSettings(gitopsRepoURL: "not a url").validate() }
        #expect(throws: InputError.self) { try ArgoCDSettings(gitopsBranch: "").validate() }
        // The environments' project can't be the control plane's: one object would be both.
        #expect(throws: InputError.self) { try ArgoCDSettings(project: ArgoCDManifests.controlPlaneProject).validate() }
        #expect(throws: Never.self) { try ArgoCDSettings(gitopsRepoURL: "git@git.fuq.tv:admin/aiworker-gitops.git").validate() }
    }
}

// MARK: - Fixtures

enum ArgoCDFixtures {
    /// Several previews, among them the longest task id allowed.
    static let taskIDs = ["abc123", "7", "fix-login-42", String(repeating: "a", count: 20) + "-" + String(repeating: "9", count: 19)]
    /// Previews of the registered project.
    static let shopTaskIDs = ["sh1"]
    static let applicationSetFiles = ["applicationset-preview-environments.yaml", "applicationset-staging-environments.yaml",
                                      "applicationset-production-environments.yaml"]

    /// A registered project with two services, as `PUT /api/projects/shop` takes it.
    static let shopDocument = #"""
    {"services": {
       "web": {"port": 8080, "path": "/", "healthPath": "/healthz",
               "hosts": {"staging": "shop.staging.fuq.tv", "production": "shop.fuq.tv"}},
       "api": {"port": 9000, "path": "/api", "defaultImage": "git.fuq.tv/shop/api:main"}}}
    """#

    static func shopCatalog(base: Catalog) throws -> Catalog {
        try Catalog.project("shop", document: ProjectDocument.decode(shopDocument, source: "shop"), base: base)
    }

    static func renderedFile(_ name: String, _ settings: ArgoCDSettings = .defaults) throws -> String {
        try #require(ArgoCDManifests.render(settings).first { $0.fileName == name }?.yaml, "render has no \(name)")
    }

    static func play(_ file: String) throws -> ApplicationSetPlay {
        try ApplicationSetPlay(yaml: renderedFile(file))
    }

    /// What the three ApplicationSets of the defaults generate over `directories`.
    static func applications(directories: [String]) throws -> [AppView] {
        try applicationSetFiles.flatMap { try play($0).applications(directories: directories) }
    }

    static func application(_ name: String, directories: [String]) throws -> AppView {
        try #require(try applications(directories: directories).first { $0.name == name }, "no Application \(name)")
    }

    static func rules(_ file: String) throws -> ProjectRules {
        try ProjectRules(yaml: renderedFile(file))
    }

    static func load(_ yaml: String) throws -> [String: Any] {
        try #require(try Yams.load(yaml: yaml) as? [String: Any])
    }

    /// The project's venv (scripts/setup.sh makes it) runs the validator.
    static func validate(_ directory: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let python = repoRoot().appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw FixtureError("\(python) is missing: run scripts/setup.sh")
        }
        let script = repoRoot().appendingPathComponent("scripts/validate-argocd.py").path
        return try run(python, [script, directory.path], timeout: 120)
    }

    static func edit(_ file: URL, replacing old: String, with new: String) throws {
        let text = try String(contentsOf: file, encoding: .utf8)
        guard text.contains(old) else { throw FixtureError("\(file.lastPathComponent) has no \(old.debugDescription)") }
        try text.replacingOccurrences(of: old, with: new).write(to: file, atomically: true, encoding: .utf8)
    }

    static func expectFolder(_ folder: URL, equals files: [(fileName: String, yaml: String)],
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let present = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(present == files.map(\.fileName).sorted(),
                "regenerate with `manifestor argocd --out argocd/ --cluster-out cluster/`", sourceLocation: sourceLocation)
        for file in files {
            let onDisk = FileManager.default.contents(atPath: folder.appendingPathComponent(file.fileName).path)
            #expect(onDisk == Data(file.yaml.utf8), "\(folder.lastPathComponent)/\(file.fileName) differs from the render",
                    sourceLocation: sourceLocation)
        }
    }

    /// The manifestor executable built next to this test binary (whatever the scratch path).
    static func manifestorBinary() -> String {
        let testBinary = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
        var dir = testBinary.deletingLastPathComponent()
        // macOS runs tests from inside an .xctest bundle.
        while dir.pathExtension == "xctest" || ["Contents", "MacOS"].contains(dir.lastPathComponent) {
            dir.deleteLastPathComponent()
        }
        let sibling = dir.appendingPathComponent("manifestor").path
        return FileManager.default.isExecutableFile(atPath: sibling) ? sibling : RenderFixtures.manifestor
    }

    /// A checkout of the gitops repository laid out as Manifestor writes it, with two projects:
    /// `aiworker` (from templates/) and the registered `shop`. One folder per preview
    /// (`preview/task-<id>`), and each project's `staging/<project>` and `production/<project>`,
    /// all rendered by the Templates renderer; the `.gitkeep` files of the skeleton.
    struct GitopsCheckout {
        let root: URL
        /// The preview directories written, sorted.
        var previewDirectories: [String] = []

        static func make(taskIDs: [String] = ArgoCDFixtures.taskIDs, shopTaskIDs: [String] = ArgoCDFixtures.shopTaskIDs) throws -> GitopsCheckout {
            let root = try RenderFixtures.temporaryDirectory()
            let aiworker = Renderer(catalog: try RenderFixtures.catalog())
            let shop = Renderer(catalog: try ArgoCDFixtures.shopCatalog(base: aiworker.catalog))
            var environments: [RenderedEnvironment] = []
            for id in taskIDs {
                environments.append(try aiworker.preview(taskID: id, images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-\(id.count)"],
                                                         ttl: "3d", now: RenderFixtures.now))
            }
            for id in shopTaskIDs {
                environments.append(try shop.preview(taskID: id, images: ["web": "git.fuq.tv/shop/web:pr-\(id.count)"],
                                                     ttl: "2d", now: RenderFixtures.now))
            }
            let pinned: [(Renderer, [String: String])] = [
                (aiworker, ["backend": "git.fuq.tv/admin/aiworker-backend@\(RenderFixtures.digestA)",
                            "frontend": "git.fuq.tv/admin/aiworker-frontend@\(RenderFixtures.digestB)"]),
                (shop, ["web": "git.fuq.tv/shop/web@\(RenderFixtures.digestA)", "api": "git.fuq.tv/shop/api@\(RenderFixtures.digestB)"]),
            ]
            for (renderer, images) in pinned {
                environments.append(try renderer.staging(images: images))
                environments.append(try renderer.production(images: images))
            }
            for environment in environments {
                try ManifestDirectory.sync(environment.files, to: root.appendingPathComponent(environment.directory))
            }
            for top in ["preview", "staging", "production"] {
                try FileManager.default.createDirectory(at: root.appendingPathComponent(top), withIntermediateDirectories: true)
                try Data().write(to: root.appendingPathComponent("\(top)/.gitkeep"))
            }
            try Data("# gitops\n".utf8).write(to: root.appendingPathComponent("README.md"))
            return GitopsCheckout(root: root, previewDirectories: (taskIDs + shopTaskIDs).map(TaskID.directory).sorted())
        }

        func remove() { try? FileManager.default.removeItem(at: root) }

        /// Every directory, relative to the root, as Argo CD's repo-server lists them: directories
        /// only, and none whose name starts with '.' (nor anything below one).
        func directories() throws -> [String] {
            var out: [String] = []
            let keys: [URLResourceKey] = [.isDirectoryKey]
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys, options: [.skipsHiddenFiles])
            else { return [] }
            let prefix = root.standardizedFileURL.path + "/"
            for case let url as URL in walker {
                guard try url.resourceValues(forKeys: Set(keys)).isDirectory == true else { continue }
                let path = url.standardizedFileURL.path
                if path.hasPrefix(prefix) { out.append(String(path.dropFirst(prefix.count))) }
            }
            return out.sorted()
        }

        func objects(in directory: String) throws -> [CheckoutObject] {
            let dir = root.appendingPathComponent(directory)
            return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted().map { file in
                let doc = try ArgoCDFixtures.load(String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8))
                let metadata = doc["metadata"] as? [String: Any] ?? [:]
                return CheckoutObject(file: file, apiVersion: doc["apiVersion"] as? String ?? "", kind: doc["kind"] as? String ?? "",
                                      name: metadata["name"] as? String ?? "", namespace: metadata["namespace"] as? String)
            }
        }
    }
}

struct CheckoutObject {
    var file: String
    var apiVersion: String
    var kind: String
    var name: String
    var namespace: String?

    var group: String { GroupKind(apiVersion: apiVersion, kind: kind).group }
}

/// The fields of an Application that the project checks and the generator test compares.
struct AppView {
    var name: String
    var labels: [String: String]
    var finalizers: [String]
    var project: String
    var sourceRepoURL: String
    var sourcePath: String
    var targetRevision: String
    var destinationServer: String
    var destinationNamespace: String
    /// `syncPolicy.automated` is present: Argo CD syncs by itself.
    var automated: Bool
    var automatedPrune: Bool?
    var automatedSelfHeal: Bool?
    var syncOptions: [String]
    var retryLimit: Int?
    /// The generator directory it came from (generated Applications only).
    var path: String = ""

    /// From an Application document, or an ApplicationSet template (`metadata` + `spec`).
    init(document: [String: Any]) throws {
        let metadata = try #require(document["metadata"] as? [String: Any])
        let spec = try #require(document["spec"] as? [String: Any])
        let source = try #require(spec["source"] as? [String: Any])
        let destination = try #require(spec["destination"] as? [String: Any])
        let syncPolicy = spec["syncPolicy"] as? [String: Any] ?? [:]
        let automated = syncPolicy["automated"] as? [String: Any]
        name = try #require(metadata["name"] as? String)
        labels = metadata["labels"] as? [String: String] ?? [:]
        finalizers = metadata["finalizers"] as? [String] ?? []
        project = try #require(spec["project"] as? String)
        sourceRepoURL = try #require(source["repoURL"] as? String)
        sourcePath = source["path"] as? String ?? ""
        targetRevision = source["targetRevision"] as? String ?? "HEAD"
        destinationServer = destination["server"] as? String ?? ""
        destinationNamespace = destination["namespace"] as? String ?? ""
        self.automated = automated != nil
        automatedPrune = automated?["prune"] as? Bool
        automatedSelfHeal = automated?["selfHeal"] as? Bool
        syncOptions = syncPolicy["syncOptions"] as? [String] ?? []
        retryLimit = (syncPolicy["retry"] as? [String: Any])?["limit"] as? Int
    }
}

/// Argo CD's git directory generator with `goTemplate: false`, as in
/// applicationset/generators/git.go: list every directory, keep those that Go's `path.Match`
/// matches against a `directories[].path`, and fill the template with fasttemplate. Then, as
/// applicationset/utils does, a filled template without finalizers gets the resources
/// finalizer unless `syncPolicy.preserveResourcesOnDeletion` is true.
struct ApplicationSetPlay {
    let repoURL: String
    let revision: String
    let includes: [String]
    let excludes: [String]
    let template: [String: Any]
    let preserveResourcesOnDeletion: Bool

    init(yaml: String) throws {
        let doc = try ArgoCDFixtures.load(yaml)
        let spec = try #require(doc["spec"] as? [String: Any])
        try #require(spec["goTemplate"] as? Bool != true, "the play implements fasttemplate only")
        let generators = try #require(spec["generators"] as? [[String: Any]])
        try #require(generators.count == 1)
        let git = try #require(generators[0]["git"] as? [String: Any])
        repoURL = try #require(git["repoURL"] as? String)
        revision = try #require(git["revision"] as? String)
        try #require(git["pathParamPrefix"] == nil && git["values"] == nil, "not modelled")
        let directories = try #require(git["directories"] as? [[String: Any]])
        includes = directories.filter { $0["exclude"] as? Bool != true }.compactMap { $0["path"] as? String }
        excludes = directories.filter { $0["exclude"] as? Bool == true }.compactMap { $0["path"] as? String }
        template = try #require(spec["template"] as? [String: Any])
        let syncPolicy = spec["syncPolicy"] as? [String: Any] ?? [:]
        try #require(Set(syncPolicy.keys).isSubset(of: ["preserveResourcesOnDeletion"]), "applicationsSync is not modelled")
        preserveResourcesOnDeletion = syncPolicy["preserveResourcesOnDeletion"] as? Bool ?? false
    }

    func applications(directories: [String]) throws -> [AppView] {
        try directories
            .filter { dir in includes.contains { Self.goPathMatch($0, dir) } && !excludes.contains { Self.goPathMatch($0, dir) } }
            .map { dir in
                let filled = try Self.substitute(template, Self.parameters(forDirectory: dir))
                var app = try AppView(document: try #require(filled as? [String: Any]))
                app.path = dir
                if app.finalizers.isEmpty && !preserveResourcesOnDeletion {
                    app.finalizers = [ArgoCDManifests.resourcesFinalizer]
                }
                return app
            }
    }

    static func parameters(forDirectory dir: String) -> [String: String] {
        let basename = String(dir.split(separator: "/").last ?? "")
        var params = ["path": dir, "path.basename": basename, "path.basenameNormalized": sanitizeName(basename)]
        for (index, segment) in dir.split(separator: "/", omittingEmptySubsequences: false).enumerated() where !segment.isEmpty {
            params["path[\(index)]"] = String(segment)
        }
        return params
    }

    /// applicationset/utils.SanitizeName: lower case, anything but [-a-z0-9.] becomes '-', at most
    /// 253 characters, no leading or trailing '-' or '.'.
    static func sanitizeName(_ name: String) -> String {
        let mapped = name.lowercased().map { c -> Character in
            c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == ".") ? c : "-"
        }
        return String(String(mapped.prefix(253))).trimmingCharacters(in: CharacterSet(charactersIn: "-."))
    }

    /// fasttemplate over every string of the template, keys untouched. An unknown parameter is an
    /// error here (Argo CD would leave `{{…}}` in place and produce an invalid name).
    static func substitute(_ value: Any, _ params: [String: String]) throws -> Any {
        switch value {
        case let s as String: return try fasttemplate(s, params)
        case let list as [Any]: return try list.map { try substitute($0, params) }
        case let map as [String: Any]: return try map.mapValues { try substitute($0, params) }
        default: return value
        }
    }

    static func fasttemplate(_ text: String, _ params: [String: String]) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let tag = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let value = params[tag] else { throw FixtureError("unknown parameter {{\(tag)}} in \(text.debugDescription)") }
            out += value
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    /// Go's `path.Match` for the patterns a directory generator uses: '*' and '?' stay within
    /// one path segment.
    static func goPathMatch(_ pattern: String, _ name: String) -> Bool {
        precondition(!pattern.contains("[") && !pattern.contains("\\"), "character classes are not modelled")
        return ProjectRules.glob(pattern, name, separators: ["/"], doubleStar: false)
    }
}

/// An AppProject's checks as Argo CD 3 makes them (pkg/apis/application/v1alpha1): source
/// repositories by gobwas glob over normalised URLs with '/' as separator; destinations by
/// server and namespace glob; kinds by `filepath.Match` on group and kind.
struct ProjectRules {
    let name: String
    let sourceRepos: [String]
    let destinations: [(server: String, namespace: String)]
    let clusterWhitelist: [(group: String, kind: String)]
    /// nil when absent: Argo CD then allows every namespaced kind.
    let namespaceWhitelist: [(group: String, kind: String)]?

    init(yaml: String) throws {
        let doc = try ArgoCDFixtures.load(yaml)
        try #require(doc["kind"] as? String == "AppProject")
        name = try #require((doc["metadata"] as? [String: Any])?["name"] as? String)
        let spec = try #require(doc["spec"] as? [String: Any])
        for key in ["clusterResourceBlacklist", "namespaceResourceBlacklist", "permitOnlyProjectScopedClusters", "sourceNamespaces"] {
            try #require(spec[key] == nil, "\(key) is not modelled")
        }
        sourceRepos = spec["sourceRepos"] as? [String] ?? []
        destinations = (spec["destinations"] as? [[String: String]] ?? []).map { ($0["server"] ?? "", $0["namespace"] ?? "") }
        func kinds(_ key: String) -> [(group: String, kind: String)]? {
            (spec[key] as? [[String: String]])?.map { ($0["group"] ?? "", $0["kind"] ?? "") }
        }
        clusterWhitelist = kinds("clusterResourceWhitelist") ?? []
        namespaceWhitelist = kinds("namespaceResourceWhitelist")
    }

    /// Why the project refuses the Application; empty when it admits it.
    func refusals(_ app: AppView) -> [String] {
        var out: [String] = []
        if app.project != name { out.append("project \(app.project) is not \(name)") }
        if !isSourcePermitted(app.sourceRepoURL) { out.append("source \(app.sourceRepoURL) is not permitted") }
        if !isDestinationPermitted(server: app.destinationServer, namespace: app.destinationNamespace) {
            out.append("destination \(app.destinationServer) \(app.destinationNamespace) is not permitted")
        }
        return out
    }

    /// Why the project refuses to sync this object; nil when it is permitted.
    func resourceRefusal(_ object: CheckoutObject, server: String) -> String? {
        let namespaced = object.kind != "Namespace"
        if !isGroupKindPermitted(group: object.group, kind: object.kind, namespaced: namespaced) {
            return "\(object.kind) (group \"\(object.group)\") is not permitted"
        }
        if namespaced {
            guard let namespace = object.namespace else { return "\(object.kind) \(object.name) has no namespace" }
            if !isDestinationPermitted(server: server, namespace: namespace) { return "namespace \(namespace) is not permitted" }
        }
        return nil
    }

    func isSourcePermitted(_ url: String) -> Bool {
        let source = Self.normalizeGitURL(url)
        var matched = false
        for pattern in sourceRepos {
            let deny = pattern.hasPrefix("!")
            let normalized = Self.normalizeGitURL(deny ? String(pattern.dropFirst()) : pattern)
            let hit = deny ? !Self.glob(normalized, source, separators: ["/"])
                           : normalized == "*" || Self.glob(normalized, source, separators: ["/"])
            if hit { matched = true } else if deny { return false }
        }
        return matched
    }

    func isDestinationPermitted(server: String, namespace: String) -> Bool {
        var matched = false
        for item in destinations {
            let serverMatched = !server.isEmpty && Self.globWithNegation(item.server, server)
            let namespaceMatched = Self.globWithNegation(item.namespace, namespace)
            if serverMatched && namespaceMatched {
                matched = true
            } else if (!serverMatched && item.server.hasPrefix("!")) || (!namespaceMatched && item.namespace.hasPrefix("!")) {
                return false
            }
        }
        return matched
    }

    func isGroupKindPermitted(group: String, kind: String, namespaced: Bool) -> Bool {
        func listed(_ list: [(group: String, kind: String)]) -> Bool {
            list.contains { Self.glob($0.kind, kind, separators: ["/"], doubleStar: false) && Self.glob($0.group, group, separators: ["/"], doubleStar: false) }
        }
        if namespaced {
            guard let namespaceWhitelist else { return true }
            return !namespaceWhitelist.isEmpty && listed(namespaceWhitelist)
        }
        return !clusterWhitelist.isEmpty && listed(clusterWhitelist)
    }

    private static func globWithNegation(_ pattern: String, _ value: String) -> Bool {
        if pattern.hasPrefix("!") { return !glob(String(pattern.dropFirst()), value, separators: []) }
        return pattern == "*" || glob(pattern, value, separators: [])
    }

    /// util/git.NormalizeGitURL for http(s) URLs: trimmed, lower case, no trailing `.git`.
    static func normalizeGitURL(_ url: String) -> String {
        var s = url.trimmingCharacters(in: .whitespaces).lowercased()
        if s.hasSuffix(".git") { s.removeLast(4) }
        return s
    }

    /// gobwas/glob with `*` (any run of non-separators), `**` (anything) and `?`; with
    /// `doubleStar: false`, Go's path/filepath.Match (where `**` is just two stars).
    static func glob(_ pattern: String, _ value: String, separators: Set<Character>, doubleStar: Bool = true) -> Bool {
        precondition(!pattern.contains("[") && !pattern.contains("{"), "character classes and alternatives are not modelled")
        let p = Array(pattern), v = Array(value)
        func match(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == v.count }
            switch p[i] {
            case "*":
                let any = doubleStar && i + 1 < p.count && p[i + 1] == "*"
                let next = any ? i + 2 : i + 1
                var k = j
                while true {
                    if match(next, k) { return true }
                    guard k < v.count, any || !separators.contains(v[k]) else { return false }
                    k += 1
                }
            case "?":
                return j < v.count && !separators.contains(v[j]) && match(i + 1, j + 1)
            default:
                return j < v.count && p[i] == v[j] && match(i + 1, j + 1)
            }
        }
        return match(0, 0)
    }
}
