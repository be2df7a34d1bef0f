import Foundation
import KubeModel
import Templates
import Testing
import Yams

@testable import ArgoCD

// Issue 6's acceptance list, one suite each:
//  1. argocd/ validates strictly against the Argo CD 3.6 CRDs  → ArgoCDSchemaTests
//  2. the ApplicationSet's git directory generator, played      → PreviewGeneratorTests
//  3. the AppProject's rules, evaluated as Argo CD does          → AppProjectRulesTests
//  4. the checked-in folders are the render of the defaults      → ArgoCDCheckedInTests

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
        #expect(!result.stderr.contains("application-staging.yaml"))
    }

    @Test("a wrong type is refused too")
    func wrongTypeIsRefused() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try ArgoCDManifests.write(ArgoCDManifests.render(.defaults), to: dir)
        try ArgoCDFixtures.edit(dir.appendingPathComponent("application-staging.yaml"),
                                replacing: "      prune: true\n", with: "      prune: \"yes\"\n")
        let result = try ArgoCDFixtures.validate(dir)
        #expect(result.status == 1)
        #expect(result.stderr.contains("application-staging.yaml: spec.syncPolicy.automated.prune: 'yes' is not of type 'boolean'"),
                "\(result.stderr)")
    }
}

// MARK: - 2. The ApplicationSet's git directory generator, played

@Suite("The preview ApplicationSet, played over a gitops repository")
struct PreviewGeneratorTests {
    @Test("every preview/<dir> becomes an Application whose name and namespace match the directory's objects")
    func generatedApplicationsMatchPreviewDirectories() throws {
        let repo = try ArgoCDFixtures.GitopsCheckout.make(taskIDs: ArgoCDFixtures.taskIDs)
        defer { repo.remove() }
        let appSet = try ApplicationSetPlay(yaml: ArgoCDFixtures.renderedFile("applicationset-preview-environments.yaml"))

        #expect(appSet.repoURL == ArgoCDSettings.defaults.gitopsRepoURL)
        #expect(appSet.revision == ArgoCDSettings.defaults.gitopsBranch)

        let generated = try appSet.applications(directories: repo.directories())
        // Only the previews: not preview/ itself, not staging/ or production/.
        #expect(generated.map(\.path).sorted() == ArgoCDFixtures.taskIDs.map { "preview/task-\($0)" }.sorted())

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
            // Deleting the directory deletes the Application; the finalizer makes that delete the
            // preview's objects and its Namespace; automated prune and self-heal keep it in step.
            #expect(app.finalizers == [ArgoCDManifests.resourcesFinalizer])
            #expect(app.automatedPrune == true && app.automatedSelfHeal == true)
            #expect(!app.syncOptions.contains("CreateNamespace=true"), "the directory renders its own Namespace")
            #expect(app.retryLimit != nil)
        }
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
        #expect(try ApplicationSetPlay.fasttemplate("preview-{{path.basename}}", params) == "preview-task-abc123")
        #expect(try ApplicationSetPlay.fasttemplate("{{ path }}", params) == "preview/task-abc123")
        #expect(throws: (any Error).self) { try ApplicationSetPlay.fasttemplate("{{path.nope}}", params) }
    }
}

// MARK: - 3. The AppProject's rules

@Suite("The AppProject admits what Manifestor deploys and nothing else")
struct AppProjectRulesTests {
    static let server = ApplicationDestination.inClusterServer

    @Test("it admits every rendered Application and the preview template instantiated for each preview")
    func admitsGeneratedApplications() throws {
        let rules = try ProjectRules(yaml: ArgoCDFixtures.renderedFile("appproject-aiworker.yaml"))
        for file in ["application-staging.yaml", "application-production.yaml",
                     "application-control-plane-backend.yaml", "application-control-plane-frontend.yaml"] {
            let app = try AppView(document: ArgoCDFixtures.load(ArgoCDFixtures.renderedFile(file)))
            #expect(rules.refusals(app) == [], "\(file)")
        }

        let repo = try ArgoCDFixtures.GitopsCheckout.make(taskIDs: ArgoCDFixtures.taskIDs)
        defer { repo.remove() }
        let appSet = try ApplicationSetPlay(yaml: ArgoCDFixtures.renderedFile("applicationset-preview-environments.yaml"))
        let previews = try appSet.applications(directories: repo.directories())
        try #require(!previews.isEmpty)
        for app in previews {
            #expect(rules.refusals(app) == [], "\(app.name)")
            // Every object the preview's Application would sync is permitted too.
            for object in try repo.objects(in: app.path) {
                #expect(rules.resourceRefusal(object, server: app.destinationServer) == nil, "\(app.path)/\(object.file)")
            }
        }
    }

    @Test("staging and production objects are permitted in their Applications")
    func admitsStableEnvironments() throws {
        let rules = try ProjectRules(yaml: ArgoCDFixtures.renderedFile("appproject-aiworker.yaml"))
        let repo = try ArgoCDFixtures.GitopsCheckout.make(taskIDs: [])
        defer { repo.remove() }
        for directory in ["staging", "production"] {
            let objects = try repo.objects(in: directory)
            try #require(!objects.isEmpty)
            for object in objects {
                #expect(rules.resourceRefusal(object, server: Self.server) == nil, "\(directory)/\(object.file)")
            }
        }
    }

    @Test("it refuses another repository, a namespace outside the list, and cluster-scoped kinds other than Namespace")
    func refusesEverythingElse() throws {
        let rules = try ProjectRules(yaml: ArgoCDFixtures.renderedFile("appproject-aiworker.yaml"))
        let staging = try AppView(document: ArgoCDFixtures.load(ArgoCDFixtures.renderedFile("application-staging.yaml")))

        for repo in ["https://git.fuq.tv/admin/other.git", "https://git.fuq.tv/admin/aiworker-gitops-fork.git",
                     "https://evil.example/admin/aiworker-gitops.git", "https://git.fuq.tv/admin/aiworker-gitops.git/../other"] {
            var app = staging
            app.sourceRepoURL = repo
            #expect(rules.refusals(app).contains { $0.hasPrefix("source") }, "\(repo)")
        }
        for namespace in ["kube-system", "default", "argocd", "ingress-nginx", "preview-other", "preview-taskx", "stagingx"] {
            var app = staging
            app.destinationNamespace = namespace
            #expect(rules.refusals(app).contains { $0.hasPrefix("destination") }, "\(namespace)")
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
        // An allowed kind in a refused namespace is still refused.
        let intruder = CheckoutObject(file: "x.yaml", apiVersion: "apps/v1", kind: "Deployment", name: "x", namespace: "kube-system")
        #expect(rules.resourceRefusal(intruder, server: Self.server) != nil)
    }

    @Test("the glob semantics are Argo CD's")
    func globSemantics() {
        // Destinations: gobwas/glob without separators.
        #expect(ProjectRules.glob("preview-task-*", "preview-task-abc", separators: []))
        #expect(ProjectRules.glob("preview-task-*", "preview-task-", separators: []))
        #expect(!ProjectRules.glob("preview-task-*", "preview-tas", separators: []))
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

    @Test("the repository Secrets hold placeholders only")
    func secretsHoldPlaceholdersOnly() throws {
        let secrets = ArgoCDManifests.render(.defaults).filter { $0.fileName.hasPrefix("secret-") }
        #expect(secrets.count == 2)
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

        let staging = dir.appendingPathComponent("application-staging.yaml")
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
        #expect(throws: Never.self) { try ArgoCDSettings(gitopsRepoURL: "git@git.fuq.tv:admin/aiworker-gitops.git").validate() }
    }
}

// MARK: - Fixtures

enum ArgoCDFixtures {
    /// Several previews, among them the longest task id allowed.
    static let taskIDs = ["abc123", "7", "fix-login-42", String(repeating: "a", count: 20) + "-" + String(repeating: "9", count: 19)]

    static func renderedFile(_ name: String, _ settings: ArgoCDSettings = .defaults) throws -> String {
        try #require(ArgoCDManifests.render(settings).first { $0.fileName == name }?.yaml, "render has no \(name)")
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

    /// A checkout of the gitops repository laid out as Manifestor writes it: one folder per
    /// preview rendered by the Templates renderer, plus staging/ and production/.
    struct GitopsCheckout {
        let root: URL

        static func make(taskIDs: [String]) throws -> GitopsCheckout {
            let root = try RenderFixtures.temporaryDirectory()
            let renderer = Renderer(catalog: try RenderFixtures.catalog())
            var environments: [RenderedEnvironment] = []
            for id in taskIDs {
                environments.append(try renderer.preview(taskID: id, images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-\(id.count)"],
                                                         ttl: "3d", now: RenderFixtures.now))
            }
            environments.append(try renderer.staging(images: ["backend": "git.fuq.tv/admin/aiworker-backend@\(RenderFixtures.digestA)"]))
            environments.append(try renderer.production(images: [
                "backend": "git.fuq.tv/admin/aiworker-backend@\(RenderFixtures.digestA)",
                "frontend": "git.fuq.tv/admin/aiworker-frontend@\(RenderFixtures.digestB)",
            ]))
            for environment in environments {
                try ManifestDirectory.sync(environment.files, to: root.appendingPathComponent(environment.directory))
            }
            try Data("# gitops\n".utf8).write(to: root.appendingPathComponent("README.md"))
            return GitopsCheckout(root: root)
        }

        func remove() { try? FileManager.default.removeItem(at: root) }

        /// Every directory, relative to the root, as Argo CD's repo-server lists them.
        func directories() throws -> [String] {
            var out: [String] = []
            let keys: [URLResourceKey] = [.isDirectoryKey]
            guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: keys) else { return [] }
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
    var finalizers: [String]
    var project: String
    var sourceRepoURL: String
    var sourcePath: String
    var targetRevision: String
    var destinationServer: String
    var destinationNamespace: String
    var automatedPrune: Bool?
    var automatedSelfHeal: Bool?
    var syncOptions: [String]
    var retryLimit: Int?
    /// The generator directory it came from (previews only).
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
        finalizers = metadata["finalizers"] as? [String] ?? []
        project = try #require(spec["project"] as? String)
        sourceRepoURL = try #require(source["repoURL"] as? String)
        sourcePath = source["path"] as? String ?? ""
        targetRevision = source["targetRevision"] as? String ?? "HEAD"
        destinationServer = destination["server"] as? String ?? ""
        destinationNamespace = destination["namespace"] as? String ?? ""
        automatedPrune = automated?["prune"] as? Bool
        automatedSelfHeal = automated?["selfHeal"] as? Bool
        syncOptions = syncPolicy["syncOptions"] as? [String] ?? []
        retryLimit = (syncPolicy["retry"] as? [String: Any])?["limit"] as? Int
    }
}

/// Argo CD's git directory generator with `goTemplate: false`, as in
/// applicationset/generators/git.go: list every directory, keep those that Go's `path.Match`
/// matches against a `directories[].path`, and fill the template with fasttemplate.
struct ApplicationSetPlay {
    let repoURL: String
    let revision: String
    let includes: [String]
    let excludes: [String]
    let template: [String: Any]

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
    }

    func applications(directories: [String]) throws -> [AppView] {
        try directories
            .filter { dir in includes.contains { Self.goPathMatch($0, dir) } && !excludes.contains { Self.goPathMatch($0, dir) } }
            .map { dir in
                let filled = try Self.substitute(template, Self.parameters(forDirectory: dir))
                var app = try AppView(document: try #require(filled as? [String: Any]))
                app.path = dir
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
