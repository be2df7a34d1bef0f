import ArgoCDLink
import ArgumentParser
import Foundation
import GitOps
import KubeModel
import Templates

/// The Argo CD links the command made: each is told of the command's pushes, and `main` waits
/// (bounded) for their notifications before the process exits.
enum CommandLinks {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var links: [ObjectIdentifier: ArgoCDLink] = [:]

    /// The link `config` names for `committer` (told of its pushes), made once; nil when the
    /// config names no Argo CD.
    static func link(_ config: ManifestorConfig, _ committer: Committer) -> ArgoCDLink? {
        lock.withLock {
            if let link = links[ObjectIdentifier(committer)] { return link }
            guard let link = ArgoCDLink(config: config, committer: committer) else { return nil }
            link.notifyOnPush()
            links[ObjectIdentifier(committer)] = link
            return link
        }
    }

    /// Waits until the notifications are sent, at most `bound`.
    static func drain(within bound: Duration = .seconds(10)) async {
        for link in lock.withLock({ Array(links.values) }) { await link.drainNotifications(within: bound) }
    }
}

extension Manifestor {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show how Argo CD runs a preview or an environment: its Application's sync, revision, health, last operation, and whether it is ready.",
            discussion: "Needs argocd.server in the config. Ready: Synced at the commit that last changed the directory or later, Healthy, last operation not failed. With --wait, waits until it is ready or has failed, at most --timeout. Exit status: 0 ready, 3 not ready or failed, 2 Argo CD or git unreachable, 1 bad input.")

        @Argument(help: "preview, staging or production.")
        var target: String

        @Argument(help: "The task id (for preview).")
        var taskID: String?

        @Flag(help: "Wait until it is ready or has failed (at most --timeout).")
        var wait = false

        @Option(help: ArgumentHelp("How long --wait waits: 30s, 2m, ... (at most 10m).", valueName: "DURATION"))
        var timeout: String = "60s"

        @OptionGroup var project: ProjectOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let seconds = try TTL.parse(timeout, field: "--timeout", max: 600)
            let (config, catalog) = try options.load()
            guard config.argocdLink?.server != nil else {
                throw InputError(code: "invalid_config", field: "\(config.source): argocd.server", rule: "is not set: status asks Argo CD's API server")
            }
            let committer = options.committer(config, catalog)
            guard let link = CommandLinks.link(config, committer) else { return }
            let status: ApplicationStatus
            switch target {
            case "preview":
                guard let id = taskID else { throw InputError(code: "invalid_task_id", field: "TASK-ID", rule: "is required with preview") }
                try TaskID.validate(id)
                guard try await committer.preview(taskID: id, domain: catalog.environments.preview.domain) != nil else {
                    throw NotFoundError(code: "preview_not_found", message: "no preview for task \(id)")
                }
                status = wait ? await link.wait(previewOf: id, timeout: .seconds(seconds)) : await link.status(previewOf: id)
            default:
                guard taskID == nil else { throw InputError(code: "invalid_arguments", field: "TASK-ID", rule: "is taken only with preview") }
                let scope = EnvironmentScope(try StableEnvironment.named(target), project: project.project)
                status = wait ? await link.wait(for: scope, timeout: .seconds(seconds)) : await link.status(of: scope)
            }
            if options.json { try options.printJSON(status) } else { printLine(Self.line(status)) }
            if status.error != nil { throw ExitCode(2) }
            if !status.ready { throw ExitCode(3) }
        }

        /// `ready preview-task-x Synced Healthy at 1a2b3c4d5e6f`, or `not ready ...: reason`.
        static func line(_ status: ApplicationStatus) -> String {
            let facts = [status.sync, status.health, status.operation].compactMap { $0 }.joined(separator: " ")
            let at = status.revision.map { " at \($0.prefix(12))" } ?? ""
            if status.ready { return "ready \(status.application) \(facts)\(at)" }
            if let error = status.error { return "unknown \(status.application): \(error)" }
            return "\(status.failed ? "failed" : "not ready") \(status.application)\(facts.isEmpty ? "" : " \(facts)")\(at): \(status.reason ?? "not ready")"
        }
    }
}
