import ArgumentParser
import Foundation
import GitOps
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

    /// The committer of `config`'s branch; when the config names Argo CD, Argo CD is told of
    /// its pushes (`CommandLinks`).
    func committer(_ config: ManifestorConfig, _ catalog: Catalog) -> Committer {
        let committer = Committer(settings: Committer.Settings(config: config), catalog: { catalog })
        _ = CommandLinks.link(config, committer)
        return committer
    }

    /// Prints the first line scripts read: `<commit> <subject>` or `unchanged <commit>`.
    func report<A, J: Encodable>(_ outcome: CommitOutcome<A>, json object: J) throws {
        if json {
            try printJSON(object)
        } else {
            printLine(outcome.summaryLine)
        }
    }
}

extension Manifestor {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seed an empty remote branch from gitops-skeleton/ (a second run makes no commit).")

        @OptionGroup var options: RepositoryOptions

        @Option(help: "The skeleton folder.")
        var skeleton: String = "gitops-skeleton"

        func run() async throws {
            let (config, catalog) = try options.load()
            let seed = try SeedRepository(skeleton: URL(fileURLWithPath: skeleton))
            let outcome = try await options.committer(config, catalog).submit(seed)
            try options.report(outcome, json: CommitAnswer(outcome))
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

        @OptionGroup var project: ProjectOption

        @OptionGroup var dryRun: DryRunOption

        @OptionGroup var requester: RequesterOption

        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let (config, builtIn) = try options.load()
            let committer = options.committer(config, builtIn)
            let catalog = try await project.catalog(committer, builtIn: builtIn)
            var operation = GitOps.DeployPreview(taskID: id, images: try images.parsed(), ttl: ttl, requestedBy: requester.requestedBy,
                                                 project: project.project)
            try operation.validate(catalog)
            try await operation.pinImages(with: config.makeRegistryClient())
            try await options.write(operation, committer: committer, catalog: builtIn, dryRun: dryRun, json: PreviewAnswer.init)
        }
    }

    struct DeletePreview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete-preview",
            abstract: "Remove preview/task-<ID>/ in one commit; Argo CD then deletes the environment.")

        @Argument(help: "The task id.")
        var id: String

        @OptionGroup var dryRun: DryRunOption

        @OptionGroup var requester: RequesterOption

        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let (config, catalog) = try options.load()
            let operation = GitOps.DeletePreview(taskID: id, requestedBy: requester.requestedBy)
            try operation.validate()
            try await options.write(operation, committer: options.committer(config, catalog), catalog: catalog, dryRun: dryRun,
                                    json: PreviewAnswer.init)
        }
    }
}
