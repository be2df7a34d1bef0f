import Foundation
import KubeModel
import Templates
import Testing
import Yams

@Suite("Isolation and the service's own deployment")
struct IsolationTests {
    @Test("a preview's NetworkPolicy admits only the ingress controller and the preview, and reaches only DNS, itself and preview data")
    func previewNetworkPolicy() throws {
        let catalog = try RenderFixtures.catalog()
        let env = try Renderer(catalog: catalog).preview(taskID: "iso", images: [:], ttl: nil, now: RenderFixtures.now)
        let text = try #require(env.files["networkpolicy-preview-isolation.yaml"])
        let doc = try #require(try Yams.load(yaml: text) as? [String: Any])
        let spec = try #require(doc["spec"] as? [String: Any])
        #expect((spec["podSelector"] as? [String: Any])?.isEmpty == true, "applies to every pod of the preview")
        #expect(spec["policyTypes"] as? [String] == ["Ingress", "Egress"])

        func namespaces(_ rules: [[String: Any]], _ key: String) -> Set<String> {
            var out = Set<String>()
            for rule in rules {
                for peer in rule[key] as? [[String: Any]] ?? [] {
                    if let selector = peer["namespaceSelector"] as? [String: Any],
                       let name = (selector["matchLabels"] as? [String: String])?["kubernetes.io/metadata.name"] {
                        out.insert(name)
                    } else if peer["podSelector"] != nil {
                        out.insert("<same namespace>")
                    } else {
                        out.insert("<anything>")
                    }
                }
                if rule[key] == nil { out.insert("<anything>") }
            }
            return out
        }
        let ingress = try #require(spec["ingress"] as? [[String: Any]])
        #expect(namespaces(ingress, "from") == ["ingress-nginx", "<same namespace>"])
        let egress = try #require(spec["egress"] as? [[String: Any]])
        let reachable = namespaces(egress, "to")
        #expect(reachable == ["<same namespace>", "kube-system", "data-preview"])
        #expect(!reachable.contains(catalog.namespace(of: .production)))
        // DNS only, towards kube-system.
        let dns = try #require(egress.first { namespaces([$0], "to") == ["kube-system"] })
        let ports = (dns["ports"] as? [[String: Any]] ?? []).compactMap { $0["port"] as? Int }
        #expect(Set(ports) == [53])
        // No production credentials are referenced by a preview.
        for (name, file) in env.files { #expect(!file.contains("production"), "\(name) mentions production") }
    }

    @Test("deploy/: two replicas, probes, bounds, read-only root, non-root, secrets from Secrets; valid for Kubernetes")
    func ownDeployment() throws {
        let dir = repoRoot().appendingPathComponent("deploy")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" && !$0.hasPrefix("prometheusrule-") }.sorted()
        let validator = repoRoot().appendingPathComponent(".venv/bin/kubernetes-validate").path
        let result = try run(validator, ["--strict", "--quiet", "-k", "1.30.0"] + files.map { dir.appendingPathComponent($0).path })
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        let deployment = try String(contentsOf: dir.appendingPathComponent("deployment-manifestor.yaml"), encoding: .utf8)
        for needle in ["replicas: 2", "readOnlyRootFilesystem: true", "runAsNonRoot: true", "livenessProbe:", "readinessProbe:",
                       "path: /readyz", "limits:", "secretKeyRef:", "name: MANIFESTOR_GIT_TOKEN", "secretName: manifestor-api-tokens",
                       "namespace: control-plane"] {
            #expect(deployment.contains(needle), "deployment lacks \(needle)")
        }
        // Manifestor's own image is pinned by digest (the release replaces the placeholder), and the
        // kustomization lists exactly the objects of the folder and pins the same image.
        let image = try #require(deployment.split(separator: "\n").first { $0.contains("image: ") })
        #expect(image.contains("git.fuq.tv/admin/manifestor@sha256:") && !image.contains(":main"), "\(image)")
        let kustomization = try String(contentsOf: dir.appendingPathComponent("kustomization.yaml"), encoding: .utf8)
        let listed = kustomization.split(separator: "\n").filter { $0.hasPrefix("  - ") && $0.hasSuffix(".yaml") }.map { String($0.dropFirst(4)) }
        #expect(listed == files, "\(listed) vs \(files)")
        #expect(kustomization.contains("digest: sha256:") && kustomization.contains("name: git.fuq.tv/admin/manifestor"))
        let dockerfile = try String(contentsOf: repoRoot().appendingPathComponent("Dockerfile"), encoding: .utf8)
        #expect(dockerfile.components(separatedBy: "\nFROM ").count + (dockerfile.hasPrefix("FROM ") ? 1 : 0) >= 2, "multi-stage")
        #expect(dockerfile.contains("USER 10001"))
        #expect(dockerfile.contains("libgit2-1.5"))
    }
}
