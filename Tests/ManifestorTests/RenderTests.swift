import Foundation
import KubeModel
import Templates
import Testing
import Yams

/// Shared inputs for render tests.
enum RenderFixtures {
    static let now = RFC3339.parse("2026-11-25T10:00:00Z")!
    static let digestA = "sha256:" + String(repeating: "a", count: 64)
    static let digestB = "sha256:" + String(repeating: "b", count: 64)

    static func catalog() throws -> Catalog {
        try Catalog.load(directory: repoRoot().appendingPathComponent("templates"))
    }

    static func allEnvironments(_ catalog: Catalog) throws -> [RenderedEnvironment] {
        let r = Renderer(catalog: catalog)
        return [
            try r.preview(taskID: "abc123", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-7"], ttl: "3d", now: now),
            try r.staging(images: ["backend": "git.fuq.tv/admin/aiworker-backend:main"]),
            try r.production(images: [
                "backend": "git.fuq.tv/admin/aiworker-backend@\(digestA)",
                "frontend": "git.fuq.tv/admin/aiworker-frontend@\(digestB)",
            ]),
        ]
    }

    /// The manifestor binary built beside this test bundle (so any --scratch-path works), else .build/debug.
    static var manifestor: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for dir in [beside, beside.deletingLastPathComponent()] {
            let candidate = dir.appendingPathComponent("manifestor").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return repoRoot().appendingPathComponent(".build/debug/manifestor").path
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("manifestor-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func snapshot(_ dir: URL) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
            out[name] = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path)
        }
        return out
    }
}

@Suite("Rendering")
struct RenderTests {
    @Test("the same inputs give byte-identical files, in memory and through the CLI")
    func deterministic() throws {
        let catalog = try RenderFixtures.catalog()
        let first = try RenderFixtures.allEnvironments(catalog).map(\.files)
        let second = try RenderFixtures.allEnvironments(try RenderFixtures.catalog()).map(\.files)
        #expect(first == second)

        let root = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        var snapshots: [[String: Data]] = []
        for name in ["one", "two"] {
            let out = root.appendingPathComponent(name)
            let result = try run(RenderFixtures.manifestor, [
                "render", "--env", "preview", "--task", "abc123", "--now", "2026-11-25T10:00:00Z",
                "--image", "backend=git.fuq.tv/admin/aiworker-backend:pr-7", "--out", out.path,
                "--templates", repoRoot().appendingPathComponent("templates").path,
            ])
            #expect(result.status == 0, "\(result.stderr)")
            snapshots.append(try RenderFixtures.snapshot(out))
        }
        #expect(snapshots[0] == snapshots[1])
        #expect(snapshots[0].count == first[0].count)
    }

    @Test("a preview is a full stack in its own namespace on one TLS host")
    func previewShape() throws {
        let env = try Renderer(catalog: RenderFixtures.catalog())
            .preview(taskID: "abc123", images: [:], ttl: "7d", now: RenderFixtures.now)
        #expect(env.directory == "preview/task-abc123")
        let kinds = Set(env.objects.map(\.kind))
        for kind in ["Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "Deployment", "Service", "Ingress", "Job", "ServiceAccount", "ConfigMap"] {
            #expect(kinds.contains(kind), "missing \(kind)")
        }
        for object in env.objects {
            if object.kind == "Namespace" {
                #expect(object.metadata.name == "preview-task-abc123")
                #expect(object.metadata.namespace == nil)
                #expect(object.metadata.annotations["aiworker.dev/expires-at"] == "2026-12-02T10:00:00Z")
            } else {
                #expect(object.metadata.namespace == "preview-task-abc123", "\(object.fileName)")
            }
            for label in ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "aiworker.dev/task-id"] {
                #expect(object.metadata.labels[label] != nil, "\(object.fileName) lacks \(label)")
            }
            #expect(object.metadata.labels["app.kubernetes.io/part-of"] == "aiworker")
            #expect(object.metadata.labels["app.kubernetes.io/managed-by"] == "manifestor")
            #expect(object.metadata.labels["aiworker.dev/task-id"] == "abc123")
            #expect(object.fileName == "\(object.kind.lowercased())-\(object.metadata.name).yaml")
        }
        let ingress = try #require(env.files["ingress-preview-task-abc123.yaml"])
        let node = try #require(try Yams.load(yaml: ingress) as? [String: Any])
        let spec = try #require(node["spec"] as? [String: Any])
        let tls = try #require(spec["tls"] as? [[String: Any]])
        #expect(tls.first?["hosts"] as? [String] == ["task-abc123.r.fuq.tv"])
        #expect(tls.first?["secretName"] == nil, "previews use the wildcard default certificate")
        let rules = try #require(spec["rules"] as? [[String: Any]])
        #expect(rules.map { $0["host"] as? String } == ["task-abc123.r.fuq.tv"])
        #expect(node["metadata"].flatMap { ($0 as? [String: Any])?["annotations"] } == nil, "no issuer annotation on previews")

        let job = try #require(env.files["job-smoke-test.yaml"])
        #expect(job.contains("argocd.argoproj.io/hook: PostSync"))
        #expect(job.contains("/api/health"))
    }

    @Test("a service without a requested image runs what staging runs")
    func previewFallsBackToStaging() throws {
        let staging = "git.fuq.tv/admin/aiworker-frontend@\(RenderFixtures.digestB)"
        let env = try Renderer(catalog: RenderFixtures.catalog()).preview(
            taskID: "t1", images: ["backend": "git.fuq.tv/admin/aiworker-backend:pr-1"], ttl: nil, now: RenderFixtures.now,
            fallbackImages: ["frontend": staging])
        #expect(env.images["frontend"] == staging)
        #expect(env.files["deployment-frontend.yaml"]!.contains("image: \(staging)"))
        #expect(env.files["deployment-backend.yaml"]!.contains("image: git.fuq.tv/admin/aiworker-backend:pr-1"))
    }

    @Test("production has at least two replicas, a disruption budget and the smoke test")
    func productionShape() throws {
        let env = try RenderFixtures.allEnvironments(RenderFixtures.catalog())[2]
        #expect(env.files["poddisruptionbudget-backend.yaml"] != nil)
        #expect(env.files["job-smoke-test.yaml"] != nil)
        for service in ["backend", "frontend"] {
            let doc = try #require(try Yams.load(yaml: env.files["deployment-\(service).yaml"]!) as? [String: Any])
            let replicas = try #require((doc["spec"] as? [String: Any])?["replicas"] as? Int)
            #expect(replicas >= 2)
        }
        let ingress = try #require(env.files["ingress-backend.yaml"])
        #expect(ingress.contains("host: api.fuq.tv"))
        #expect(ingress.contains("cert-manager.io/cluster-issuer: letsencrypt-prod"))
        #expect(ingress.contains("secretName: backend-tls"))
        let staging = try RenderFixtures.allEnvironments(RenderFixtures.catalog())[1]
        #expect(staging.files["ingress-frontend.yaml"]!.contains("host: staging-app.fuq.tv"))
        #expect(staging.files["ingress-backend.yaml"]!.contains("host: staging-api.fuq.tv"))
    }

    @Test("every rendered object passes kubernetes-validate --strict for 1.30 and the newest version")
    func kubernetesSchemas() throws {
        let root = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        var paths: [String] = []
        for env in try RenderFixtures.allEnvironments(RenderFixtures.catalog()) {
            let dir = root.appendingPathComponent(env.directory)
            try ManifestDirectory.sync(env.files, to: dir)
            paths += env.files.keys.sorted().map { dir.appendingPathComponent($0).path }
        }
        let validator = repoRoot().appendingPathComponent(".venv/bin/kubernetes-validate").path
        let newest = try run(validator, ["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for version in ["1.30.0", nil] as [String?] {
            let args = ["--strict", "--quiet"] + (version.map { ["-k", $0] } ?? []) + paths
            let result = try run(validator, args)
            #expect(result.status == 0, "kubernetes \(version ?? newest): \(result.stdout) \(result.stderr)")
        }
        // The check can fail: an unknown field is refused.
        let broken = root.appendingPathComponent("broken.yaml")
        let deployment = try String(contentsOfFile: paths.first { $0.hasSuffix("deployment-backend.yaml") }!, encoding: .utf8)
        try deployment.replacingOccurrences(of: "  replicas: 1\n", with: "  replicas: 1\n  replicaz: 2\n").write(to: broken, atomically: true, encoding: .utf8)
        let refused = try run(validator, ["--strict", "--quiet", "-k", "1.30.0", broken.path])
        #expect(refused.status != 0)
    }

    @Test("a third service added to templates/ renders with no Swift change")
    func thirdService() throws {
        let dir = try RenderFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.copyItem(at: repoRoot().appendingPathComponent("templates"), to: dir.appendingPathComponent("templates"))
        try """
        port: 8080
        path: /docs
        healthPath: /docs/healthz
        defaultImage: git.fuq.tv/admin/aiworker-docs:main
        hosts: {staging: staging-docs.fuq.tv, production: docs.fuq.tv}
        env: {MODE: "on"}
        """.write(to: dir.appendingPathComponent("templates/services/docs.yaml"), atomically: true, encoding: .utf8)
        let catalog = try Catalog.load(directory: dir.appendingPathComponent("templates"))
        #expect(catalog.services.map(\.name) == ["backend", "docs", "frontend"])
        let env = try Renderer(catalog: catalog).preview(taskID: "docs1", images: [:], ttl: nil, now: RenderFixtures.now)
        #expect(env.files["deployment-docs.yaml"] != nil)
        #expect(env.files["service-docs.yaml"] != nil)
        #expect(env.files["configmap-docs-env.yaml"]!.contains("MODE: \"on\""))
        #expect(env.files["ingress-preview-task-docs1.yaml"]!.contains("path: /docs"))
        #expect(env.files["job-smoke-test.yaml"]!.contains("http://docs.preview-task-docs1.svc:8080/docs/healthz"))
    }
}
