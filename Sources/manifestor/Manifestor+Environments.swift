import ArgumentParser
import Foundation
import GitOps
import KubeModel
import Templates

/// `--requested-by`, for the Requested-By trailer.
struct RequesterOption: ParsableArguments {
    @Option(help: "Who asked, for the Requested-By trailer (default: $USER).")
    var requestedBy: String = ProcessInfo.processInfo.environment["USER"] ?? defaultRequester
}

extension RepositoryOptions {
    /// Prints `value` as the JSON the HTTP API answers.
    func printJSON<J: Encodable>(_ value: J) throws {
        printLine(String(decoding: try encodeAnswer(value), as: UTF8.self))
    }
}

extension Manifestor {
    struct Deploy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-render staging/ with the given images and push; other services keep what staging runs.",
            discussion: "With a registry in the config, tags are pinned to digests first (the tag is kept in the aiworker.dev/image-tag annotation). Production is changed only by 'manifestor promote'.")

        @Argument(help: "The environment: staging.")
        var environment: String

        @OptionGroup var images: ImageOptions
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
            let (config, catalog) = try options.load()
            var operation = GitOps.DeployStaging(images: try images.parsed(), requestedBy: requester.requestedBy)
            try operation.validate(catalog)
            try await operation.pinImages(with: config.makeRegistryClient())
            let outcome = try await options.committer(config, catalog).submit(operation)
            try options.report(outcome, json: EnvironmentAnswer(outcome))
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

        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let operation = try GitOps.Promote(from: from, to: to, services: services, allowTag: allowTag, requestedBy: requester.requestedBy)
            let (config, catalog) = try options.load()
            try operation.validate(catalog)
            let committer = options.committer(config, catalog)
            guard review else {
                let outcome = try await committer.submit(operation)
                try options.report(outcome, json: PromotionAnswer(outcome, branch: nil))
                return
            }
            let target = operation.to
            let reviewed = try await committer.submitForReview(operation, catalog: catalog) { reviewBranchName(target: target, commit: $0) }
            try options.report(reviewed.outcome, json: PromotionAnswer(reviewed.outcome, branch: reviewed.branch))
            if !options.json, let branch = reviewed.branch {
                printLine("branch \(branch)")
            }
        }
    }

    struct RollbackCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Make a new commit whose ENV/ is what it was: before its last change (--to previous) or right after COMMIT.")

        @Argument(help: "staging or production.")
        var environment: String

        @Option(help: ArgumentHelp("previous, or a commit that changed ENV (7 to 40 hex digits).", valueName: "previous|COMMIT"))
        var to: String

        @OptionGroup var requester: RequesterOption
        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            let operation = GitOps.Rollback(environment: try StableEnvironment.named(environment), target: try GitOps.Rollback.Target.named(to),
                                            requestedBy: requester.requestedBy)
            try operation.validate()
            let (config, catalog) = try options.load()
            let outcome = try await options.committer(config, catalog).submit(operation)
            try options.report(outcome, json: EnvironmentAnswer(outcome))
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the operations that changed ENV/, newest first: commit, date, operation, requester, author, subject, images.")

        @Argument(help: "staging or production.")
        var environment: String

        @Option(help: "At most this many entries.")
        var limit: Int = 50

        @OptionGroup var options: RepositoryOptions

        func validate() throws {
            guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
        }

        func run() async throws {
            let environment = try StableEnvironment.named(self.environment)
            let (config, catalog) = try options.load()
            let limit = self.limit
            let answer = try await options.committer(config, catalog).read(refresh: true) { tree in
                try environmentHistory(environment, tree: tree, limit: limit)
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
            let (config, catalog) = try options.load()
            let outcome = try await options.committer(config, catalog).submit(ExpirePreviews(now: moment, requestedBy: requester.requestedBy))
            try options.report(outcome, json: ExpiryAnswer(outcome))
        }
    }
}
