import ArgoCDLink
import ArgumentParser
import Foundation
import GitOps
import KubeModel
import Templates

/// `--requested-by`, for the Requested-By trailer.
struct RequesterOption: ParsableArguments {
    @Option(name: .customLong("requested-by"), help: "Who asked, for the Requested-By trailer (default: $USER, else manifestor).")
    var given: String?

    var requestedBy: String { given ?? ProcessInfo.processInfo.environment["USER"] ?? defaultRequester }
}

/// `--project`, on every command that works on a project's environments.
struct ProjectOption: ParsableArguments {
    @Option(help: "The project: aiworker (built in) or a registered one.")
    var project: String = ProjectName.builtIn

    /// The project's catalog: the built-in one, or the registered one at the remote's tip.
    func catalog(_ committer: Committer, builtIn: Catalog) async throws -> Catalog {
        try await committer.catalog(of: project, builtIn: builtIn)
    }
}

/// `--dry-run`, on every write.
struct DryRunOption: ParsableArguments {
    @Flag(help: "Check and plan the write on the remote's tip, print what it would commit (paths, message), and commit nothing.")
    var dryRun = false
}

/// `--expected`, on the writes to staging and production.
struct ExpectedOption: ParsableArguments {
    @Option(help: ArgumentHelp("Refuse (exit 1, nothing committed) unless COMMIT is the one that last changed the environment.", valueName: "COMMIT"))
    var expected: String?

    func parsed() throws -> String? { try ExpectedCommit.parse(expected) }
}

extension RepositoryOptions {
    /// Prints `value` as the JSON the HTTP API answers.
    func printJSON<J: Encodable>(_ value: J) throws {
        printLine(String(decoding: try encodeAnswer(value), as: UTF8.self))
    }

    /// Submits `operation` and prints the outcome, or with `dryRun` prints what it would commit.
    func write<Op: GitOperation, J: Encodable>(_ operation: Op, committer: Committer, catalog: Catalog, dryRun: DryRunOption,
                                               json: (CommitOutcome<Op.Answer>) -> J) async throws {
        guard dryRun.dryRun else {
            let outcome = try await committer.submit(operation)
            return try report(outcome, json: json(outcome))
        }
        let run = try await committer.dryRun(operation, catalog: catalog)
        if self.json { return try printJSON(DryRunAnswer(run, answer: json(run.outcome))) }
        run.lines.forEach(printLine)
    }
}

extension Manifestor {
    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-render staging/<project>/ with the given images and push; other services keep what staging runs.",
            discussion: "With a registry in the config, tags are pinned to digests first (the tag is kept in the aiworker.dev/image-tag annotation). Production is changed only by 'manifestor promote'.")

        @Argument(help: "The environment: staging.")
        var environment: String

        @OptionGroup var images: ImageOptions
        @OptionGroup var project: ProjectOption
        @OptionGroup var expected: ExpectedOption
        @OptionGroup var dryRun: DryRunOption
        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            guard environment == "staging" else {
                if environment == "production" {
                    throw InputError(code: "invalid_environment", field: "ENV",
                                     rule: "production is changed only by promotion: manifestor promote staging production")
                }
                throw InputError(code: "invalid_environment", field: "ENV",
                                 rule: "must be staging (previews: manifestor deploy-preview), not \(YAMLEmitter.quoted(environment))")
            }
            let (config, builtIn) = try options.load()
            let committer = options.committer(config, builtIn)
            var operation = GitOps.DeployStaging(images: try images.parsed(), requestedBy: requester.requestedBy, project: project.project,
                                                 expected: try expected.parsed())
            try operation.validate(try await project.catalog(committer, builtIn: builtIn))
            try await operation.pinImages(with: config.makeRegistryClient())
            try await options.write(operation, committer: committer, catalog: builtIn, dryRun: dryRun, json: EnvironmentAnswer.init)
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give TO exactly the images FROM runs (staging → production, or preview/task-<id> → staging).",
            discussion: "Production takes digests only; a staging that runs tags needs --allow-tag. With --review the commit goes to a new branch promote/<TO>/<short-id> and main is untouched; the second output line names the branch.")

        @Argument(help: "staging, or preview/task-<id>.")
        var from: String

        @Argument(help: "production, or staging.")
        var to: String

        @Option(name: .customLong("service"), help: ArgumentHelp("Promote only this service (repeatable); the others keep what TO runs.", valueName: "SERVICE"))
        var services: [String] = []

        @Flag(help: "Push the commit to a review branch promote/<TO>/<short-id> instead of main.")
        var review = false

        @Flag(help: "Let production take images named by tag instead of digest.")
        var allowTag = false

        @Flag(help: "Promote even though Argo CD does not report FROM ready (needs --reason, recorded in the commit).")
        var force = false

        @Option(help: ArgumentHelp("Why the promotion is forced (with --force): one line, into the commit's Gate: trailer.", valueName: "TEXT"))
        var reason: String?

        @OptionGroup var project: ProjectOption
        @OptionGroup var expected: ExpectedOption
        @OptionGroup var dryRun: DryRunOption
        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            var operation = try GitOps.Promote(from: from, to: to, services: services, allowTag: allowTag, requestedBy: requester.requestedBy,
                                               project: project.project, expected: expected.expected)
            if force { _ = try PromotionGate.forced(reason: reason) }
            if reason != nil, !force { throw InputError(code: "invalid_reason", field: "--reason", rule: "is taken only with --force") }
            let (config, catalog) = try options.load()
            let committer = options.committer(config, catalog)
            try operation.validate(try await project.catalog(committer, builtIn: catalog))
            if let link = CommandLinks.link(config, committer), link.readsStatus {
                operation.gate = try await link.gate(operation.from, project: project.project, force: force, reason: reason)
            }
            guard review, !dryRun.dryRun else {
                return try await options.write(operation, committer: committer, catalog: catalog, dryRun: dryRun) { PromotionAnswer($0, branch: nil) }
            }
            let (target, name) = (operation.to, project.project)
            let reviewed = try await committer.submitForReview(operation, catalog: catalog) {
                reviewBranchName(target: target, project: name, commit: $0)
            }
            try options.report(reviewed.outcome, json: PromotionAnswer(reviewed.outcome, branch: reviewed.branch))
            if !options.json, let branch = reviewed.branch {
                printLine("branch \(branch)")
            }
        }
    }

    struct RollbackCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Make a new commit whose ENV/<project>/ is what it was: before its last change (--to previous) or right after COMMIT.")

        @Argument(help: "staging or production.")
        var environment: String

        @Option(help: ArgumentHelp("previous, or a commit that changed ENV (7 to 40 hex digits).", valueName: "previous|COMMIT"))
        var to: String

        @OptionGroup var project: ProjectOption
        @OptionGroup var expected: ExpectedOption
        @OptionGroup var dryRun: DryRunOption
        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let operation = GitOps.Rollback(environment: try StableEnvironment.named(environment), target: try GitOps.Rollback.Target.named(to),
                                            requestedBy: requester.requestedBy, project: project.project, expected: try expected.parsed())
            try operation.validate()
            let (config, catalog) = try options.load()
            let committer = options.committer(config, catalog)
            _ = try await project.catalog(committer, builtIn: catalog)
            try await options.write(operation, committer: committer, catalog: catalog, dryRun: dryRun, json: EnvironmentAnswer.init)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the operations that changed ENV/<project>/, newest first: commit, date, operation, requester, author, subject, images.")

        @Argument(help: "staging or production.")
        var environment: String

        @Option(help: "At most this many entries.")
        var limit: Int = 50

        @OptionGroup var project: ProjectOption
        @OptionGroup var options: RepositoryOptions

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        }

        func run() async throws {
            try ProjectName.validate(project.project)
            let scope = EnvironmentScope(try StableEnvironment.named(self.environment), project: project.project)
            let (config, catalog) = try options.load()
            let limit = self.limit
            let answer = try await options.committer(config, catalog).read(refresh: true) { tree in
                try ProjectCatalogs.requireRegistered(scope.project, tree: tree)
                return try environmentHistory(scope, tree: tree, limit: limit)
            }
            if options.json { return try options.printJSON(answer) }
            for entry in answer.entries {
                printLine("\(entry.commit.prefix(12)) \(entry.date) \(entry.operation ?? "-") \(entry.requestedBy ?? "-") (\(entry.author)) \(entry.subject)")
                for image in entry.images { printLine("    \(image)") }
            }
        }
    }

    struct GC: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Delete every preview whose expiry has passed, in one commit (none expired: no commit).")

        @Option(help: ArgumentHelp("Compare expiries with this moment instead of the clock (RFC 3339).", valueName: "RFC3339"))
        var now: String?

        @Option(help: "Only the previews of this project (default: every project's).")
        var project: String?

        @OptionGroup var dryRun: DryRunOption
        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            var moment: Date?
            if let now {
                guard let parsed = RFC3339.parse(now) else {
                    throw InputError(code: "invalid_time", field: "--now", rule: "must be an RFC 3339 time such as 2026-01-31T12:00:00Z")
                }
                moment = parsed
            }
            let operation = ExpirePreviews(now: moment, requestedBy: requester.requestedBy, project: project)
            try operation.validate()
            let (config, catalog) = try options.load()
            try await options.write(operation, committer: options.committer(config, catalog), catalog: catalog, dryRun: dryRun,
                                    json: ExpiryAnswer.init)
        }
    }

    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What TO would change if it took FROM: a promotion (FROM staging or preview/task-<id>) or a rollback (FROM previous or a commit).",
            discussion: "Prints one line per image change (service: old → new), then A|M|D per file; nothing is committed.")

        @Argument(help: "staging, preview/task-<id>, previous, or a commit id.")
        var from: String

        @Argument(help: "staging or production.")
        var to: String

        @OptionGroup var project: ProjectOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let target = try StableEnvironment.named(to)
            let (config, catalog) = try options.load()
            let committer = options.committer(config, catalog)
            _ = try await project.catalog(committer, builtIn: catalog)
            let answer = try await committer.diff(from: from, to: target, project: project.project, catalog: catalog)
            if options.json { return try options.printJSON(answer) }
            answer.lines.forEach(printLine)
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a repository in the older layout (AiWorker's files directly in staging/ and production/) to staging/<project>/ and production/<project>/, in one commit.",
            discussion: "AiWorker's environments are re-rendered with the images and tags they ran into staging/aiworker/ and production/aiworker/ (namespaces aiworker-staging and aiworker-production). A repository already in the current layout is left unchanged. Every other write refuses the older layout until this has run.")

        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let operation = MigrateLayout(requestedBy: requester.requestedBy)
            try operation.validate()
            let (config, catalog) = try options.load()
            let outcome = try await options.committer(config, catalog).submit(operation)
            try options.report(outcome, json: MigrationAnswer(outcome))
        }
    }
}
