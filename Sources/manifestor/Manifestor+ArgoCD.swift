import ArgoCD
import ArgumentParser
import Foundation
import GitOps
import Templates

extension Manifestor {
    struct ArgoCDCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "argocd",
            abstract: "Render the Argo CD AppProject, ApplicationSet and Applications (and the cluster-side TLS files) from the config.",
            discussion: "Without --config the built-in defaults are used: the checked-in argocd/ and cluster/ folders are that render.")

        @Option(help: "The configuration file (repository URL and branch, Argo CD settings, templates).")
        var config: String?

        @Option(help: "Where to write the Argo CD manifests.")
        var out: String

        @Option(help: "Where to write the cluster-side files (wildcard certificate, ingress-nginx setting).")
        var clusterOut: String?

        func run() async throws {
            var settings = ArgoCDSettings.defaults
            if let path = config {
                let config = try ManifestorConfig.load(path: path)
                let catalog = try Catalog.load(directory: config.templates)
                settings.gitopsRepoURL = config.repository.url
                settings.gitopsBranch = config.branch
                settings.previewDomain = catalog.environments.preview.domain
                settings.clusterIssuer = catalog.environments.ingress.clusterIssuer
                settings.ingressNamespace = catalog.environments.ingress.controllerNamespace
                if let code = config.argocd.codeRepository { settings.codeRepoURL = code }
                if let revision = config.argocd.codeRevision { settings.codeRevision = revision }
                if let namespace = config.argocd.namespace { settings.argocdNamespace = namespace }
                if let repository = config.argocd.manifestorRepository { settings.manifestorRepoURL = repository }
                if let revision = config.argocd.manifestorRevision { settings.manifestorRevision = revision }
            }
            try settings.validate()
            let manifests = ArgoCDManifests.render(settings)
            try ArgoCDManifests.write(manifests, to: URL(fileURLWithPath: out))
            var written = manifests.count
            if let clusterOut {
                let cluster = ClusterManifests.render(settings)
                try ClusterManifests.write(cluster, to: URL(fileURLWithPath: clusterOut))
                written += cluster.count
            }
            printLine("rendered \(written) files")
        }
    }
}
