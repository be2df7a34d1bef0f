import ArgumentParser
import Foundation
import GitOps
import GitStore
import KubeModel
import Templates

/// `--config FILE` and `--json`, shared by the commands that touch the repository.
struct RepositoryOptions: ParsableArguments {
    @Option(help: "The configuration file (repository, author, templates).")
    var config: String

    @Flag(help: "Print the JSON object the HTTP API answers instead of the summary line.")
    var json = false

    @OptionGroup var templateOptions: TemplateOptions

    func load() throws -> (ManifestorConfig, Catalog) {
        let config = try ManifestorConfig.load(path: self.config)
        let catalog = try templateOptions.catalog(configTemplates: config.templates)
        return (config, catalog)
    }

    func committer(_ config: ManifestorConfig, _ catalog: Catalog) -> Committer {
        Committer(settings: Committer.Settings(config: config), catalog: { catalog })
    }

    /// Prints the first line scripts read: `<commit> <subject>` or `unchanged <commit>`.
    func report<A, J: Encodable>(_ outcome: CommitOutcome<A>, json object: J) throws {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            printLine(String(decoding: try encoder.encode(object), as: UTF8.self))
        } else if outcome.changed, let commit = outcome.commit {
            printLine("\(commit.short) \(outcome.subject)")
        } else {
            printLine("unchanged \(outcome.commit?.short ?? "-")")
        }
    }
}

/// The JSON answer of deploy-preview and delete-preview.
struct PreviewAnswer: Encodable {
    var taskId: String
    var namespace: String
    var url: String
    var path: String
    var commit: String?
    var expiresAt: String?
    var changed: Bool
    var images: [String: String]

    init(_ outcome: CommitOutcome<PreviewState>) {
        let s = outcome.answer
        taskId = s.taskId; namespace = s.namespace; url = s.url; path = s.path
        commit = outcome.commit?.hex; expiresAt = s.expiresAt; changed = outcome.changed; images = s.images
    }
}

extension Manifestor {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seed an empty remote branch from gitops-skeleton/ (a second run makes no commit).")

        @OptionGroup var options: RepositoryOptions

        @Option(help: "The skeleton folder (default: ./gitops-skeleton).")
        var skeleton: String = "gitops-skeleton"

        func run() async throws {
            let (config, catalog) = try options.load()
            let seed = try SeedRepository(skeleton: URL(fileURLWithPath: skeleton))
            let outcome = try await options.committer(config, catalog).submit(seed)
            try options.report(outcome, json: CommitAnswer(commit: outcome.commit?.hex, changed: outcome.changed))
        }
    }

    struct DeployPreview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deploy-preview",
            abstract: "Render and commit preview/task-<ID>/ with the given images, then push.")

        @Argument(help: "The task id.")
        var id: String

        @OptionGroup var images: ImageOptions

        @Option(help: "Time to live, e.g. 7d (default: the catalog's).")
        var ttl: String?

        @OptionGroup var requester: RequesterOption

        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let (config, catalog) = try options.load()
            var operation = GitOps.DeployPreview(taskID: id, images: try images.parsed(), ttl: ttl, requestedBy: requester.requestedBy)
            try operation.validate(catalog)
            try await operation.pinImages(with: config.makeRegistryClient())
            let outcome = try await options.committer(config, catalog).submit(operation)
            try options.report(outcome, json: PreviewAnswer(outcome))
        }
    }

    struct DeletePreview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-preview",
            abstract: "Remove preview/task-<ID>/ in one commit; Argo CD then deletes the environment.")

        @Argument(help: "The task id.")
        var id: String

        @OptionGroup var requester: RequesterOption

        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let (config, catalog) = try options.load()
            let operation = GitOps.DeletePreview(taskID: id, requestedBy: requester.requestedBy)
            try operation.validate()
            let outcome = try await options.committer(config, catalog).submit(operation)
            try options.report(outcome, json: PreviewAnswer(outcome))
        }
    }
}

/// The JSON answer of commands whose only result is a commit.
struct CommitAnswer: Encodable {
    var commit: String?
    var changed: Bool
}
