import ArgoCDLink
import Foundation
import GitOps
import Hummingbird
import KubeModel
import Templates

/// Staging deploys, promotion, rollback and history of every project: under
/// `/api/projects/{project}/`, and at the older routes for `aiworker`.
struct EnvironmentController {
    let service: ManifestorService

    func register(on router: Router<ManifestorContext>) {
        for prefix in ["/api", "/api/projects/{project}"] {
            // `{env}` rather than a literal `staging`: a literal segment beside `{env}` makes the
            // router miss `GET .../environments/staging`.
            router.post("\(prefix)/environments/{env}/deploy", use: deployStaging)
            router.post("\(prefix)/promote", use: promote)
            router.post("\(prefix)/environments/{env}/rollback", use: rollback)
            router.get("\(prefix)/environments/{env}", use: get)
            router.get("\(prefix)/environments/{env}/history", use: history)
            router.get("\(prefix)/environments/{env}/diff", use: diff)
        }
    }

    struct DeployBody: Decodable {
        var images: [String: String]
        var requestedBy: String?
        var expected: String?
        var dryRun: Bool?
    }

    struct PromoteBody: Decodable {
        var from: String
        var to: String
        var services: [String]?
        var review: Bool?
        var allowTag: Bool?
        var requestedBy: String?
        var expected: String?
        var dryRun: Bool?
        var force: Bool?
        var reason: String?
    }

    struct RollbackBody: Decodable {
        var to: String
        var requestedBy: String?
        var expected: String?
        var dryRun: Bool?
    }

    /// The route's project: `{project}`, or `aiworker` on the older routes.
    func project(_ context: ManifestorContext) throws -> String {
        guard context.parameters.get("project") != nil else { return ProjectName.builtIn }
        return try context.parameter("project", ProjectName.validate)
    }

    func scope(_ context: ManifestorContext) throws -> EnvironmentScope {
        let project = try project(context)
        return EnvironmentScope(try StableEnvironment.named(context.parameters.get("env") ?? ""), project: project)
    }

    /// Tags are pinned to digests before the operation is queued: an unknown tag (422) or a
    /// registry that can't be reached (503) commits nothing.
    @Sendable func deployStaging(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let project = try project(context)
        switch try StableEnvironment.named(context.parameters.get("env") ?? "") {
        case .staging: break
        case .production:
            throw InputError(code: "invalid_environment", field: "env",
                             rule: "production is changed only by promotion: POST \(project == ProjectName.builtIn ? "/api" : "/api/projects/\(project)")/promote", kind: .unprocessable)
        }
        let body = try await request.decodeStrict(DeployBody.self, allowedKeys: ["images", "requestedBy", "expected", "dryRun"],
                                                  limit: service.maxBodyBytes, context: context)
        var operation = DeployStaging(images: body.images, requestedBy: body.requestedBy ?? caller.name, project: project,
                                      expected: try ExpectedCommit.parse(body.expected))
        try operation.validate(try await service.catalog(of: project))
        try await operation.pinImages(with: service.registry)
        if body.dryRun == true { return try jsonResponse(try await service.dryRun(operation, answer: EnvironmentAnswer.init)) }
        let outcome = try await service.committer.submit(operation)
        context.logger.info("deploy-staging", metadata: ["project": "\(project)", "commit": "\(outcome.commitHex)", "changed": "\(outcome.changed)", "caller": "\(caller.name)"])
        return try jsonResponse(EnvironmentAnswer(outcome), status: outcome.changed ? .created : .ok)
    }

    @Sendable func promote(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.releaseManager)
        let project = try project(context)
        let body = try await request.decodeStrict(PromoteBody.self, allowedKeys: ["from", "to", "services", "review", "allowTag", "requestedBy",
                                                                                  "expected", "dryRun", "force", "reason"],
                                                  limit: service.maxBodyBytes, context: context)
        var operation = try Promote(from: body.from, to: body.to, services: body.services ?? [], allowTag: body.allowTag ?? false,
                                    requestedBy: body.requestedBy ?? caller.name, project: project, expected: body.expected)
        try operation.validate(try await service.catalog(of: project))
        // `reason` is read only with `force: true`.
        if body.force == true { _ = try PromotionGate.forced(reason: body.reason) }
        if let link = service.argocd, link.readsStatus {
            operation.gate = try await link.gate(operation.from, project: project, force: body.force == true, reason: body.reason)
        }
        if body.dryRun == true {
            return try jsonResponse(try await service.dryRun(operation) { PromotionAnswer($0, branch: nil) })
        }
        let answer: PromotionAnswer
        let status: HTTPResponse.Status
        if body.review == true {
            let target = operation.to
            let reviewed = try await service.committer.submitForReview(operation, catalog: try service.catalog()) {
                reviewBranchName(target: target, project: project, commit: $0)
            }
            answer = PromotionAnswer(reviewed.outcome, branch: reviewed.branch)
            status = .ok
        } else {
            let outcome = try await service.committer.submit(operation)
            answer = PromotionAnswer(outcome, branch: nil)
            status = outcome.changed ? .created : .ok
        }
        context.logger.info("promote", metadata: ["project": "\(project)", "from": "\(answer.from)", "to": "\(answer.to)", "commit": "\(answer.commit ?? "-")",
                                                  "gate": "\(answer.gate ?? "-")",
                                                  "branch": "\(answer.branch ?? "-")", "caller": "\(caller.name)"])
        return try jsonResponse(answer, status: status)
    }

    @Sendable func rollback(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.releaseManager)
        let scope = try scope(context)
        let body = try await request.decodeStrict(RollbackBody.self, allowedKeys: ["to", "requestedBy", "expected", "dryRun"],
                                                  limit: service.maxBodyBytes, context: context)
        let operation = Rollback(environment: scope.environment, target: try Rollback.Target.named(body.to),
                                 requestedBy: body.requestedBy ?? caller.name, project: scope.project,
                                 expected: try ExpectedCommit.parse(body.expected))
        try operation.validate()
        _ = try await service.catalog(of: scope.project)
        if body.dryRun == true { return try jsonResponse(try await service.dryRun(operation, answer: EnvironmentAnswer.init)) }
        let outcome = try await service.committer.submit(operation)
        context.logger.info("rollback", metadata: ["env": "\(scope)", "commit": "\(outcome.commitHex)", "caller": "\(caller.name)"])
        return try jsonResponse(EnvironmentAnswer(outcome), status: outcome.changed ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let scope = try scope(context)
        let query = try StatusQuery(request, link: service.argocd)
        var answer = try await service.committer.read(refresh: service.refreshReads) { tree in
            try ProjectCatalogs.requireRegistered(scope.project, tree: tree)
            return try environmentAnswer(scope, tree: tree)
        }
        if let link = service.argocd, link.readsStatus {
            if let wait = query.wait {
                answer.status = await link.wait(for: scope, timeout: wait)
            } else {
                answer.status = await link.status(of: scope)
            }
        }
        return try jsonResponse(answer)
    }

    @Sendable func history(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let scope = try scope(context)
        let limit = try historyLimit(request)
        let answer = try await service.committer.read(refresh: service.refreshReads) { tree in
            try ProjectCatalogs.requireRegistered(scope.project, tree: tree)
            return try environmentHistory(scope, tree: tree, limit: limit)
        }
        return try jsonResponse(answer)
    }

    /// `?from=staging|preview/task-<id>|previous|<commit>`: what the environment would change if it took that.
    @Sendable func diff(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let scope = try scope(context)
        guard let from = request.uri.queryParameters.get("from").map({ String($0) }), !from.isEmpty else {
            throw APIError(.badRequest, code: "missing_from", message: "from: is required: staging, preview/task-<id>, previous or a commit id")
        }
        _ = try await service.catalog(of: scope.project)
        return try jsonResponse(try await service.committer.diff(from: from, to: scope.environment, project: scope.project,
                                                                 catalog: try service.catalog()))
    }

    /// `?limit=N` (1-1000, default 50).
    private func historyLimit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return 50 }
        guard let value = Int(text), (1...1000).contains(value) else {
            throw APIError(.badRequest, code: "invalid_limit", message: "limit: must be a whole number from 1 to 1000")
        }
        return value
    }
}
