import Foundation
import GitOps
import Hummingbird
import KubeModel
import Templates

/// Staging deploys, promotion, rollback and history.
struct EnvironmentController {
    let service: ManifestorService

    func register(on router: Router<ManifestorContext>) {
        router.post("/api/environments/staging/deploy", use: deployStaging)
        router.post("/api/promote", use: promote)
        router.post("/api/environments/{env}/rollback", use: rollback)
        router.get("/api/environments/{env}", use: get)
        router.get("/api/environments/{env}/history", use: history)
    }

    struct DeployBody: Decodable {
        var images: [String: String]
        var requestedBy: String?
    }

    struct PromoteBody: Decodable {
        var from: String
        var to: String
        var services: [String]?
        var review: Bool?
        var allowTag: Bool?
        var requestedBy: String?
    }

    struct RollbackBody: Decodable {
        var to: String
        var requestedBy: String?
    }

    func environment(_ context: ManifestorContext) throws -> StableEnvironment {
        try StableEnvironment.named(context.parameters.get("env") ?? "")
    }

    /// Tags are pinned to digests before the operation is queued: an unknown tag (422) or a
    /// registry that can't be reached (503) commits nothing.
    @Sendable func deployStaging(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let body = try await request.decodeStrict(DeployBody.self, allowedKeys: ["images", "requestedBy"],
                                                  limit: service.maxBodyBytes, context: context)
        var operation = DeployStaging(images: body.images, requestedBy: body.requestedBy ?? caller.name)
        try operation.validate(try service.catalog())
        try await operation.pinImages(with: service.registry)
        let outcome = try await service.committer.submit(operation)
        context.logger.info("deploy-staging", metadata: ["commit": "\(outcome.commitHex)", "changed": "\(outcome.changed)", "caller": "\(caller.name)"])
        return try jsonResponse(EnvironmentAnswer(outcome), status: outcome.changed ? .created : .ok)
    }

    @Sendable func promote(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.releaseManager)
        let body = try await request.decodeStrict(PromoteBody.self, allowedKeys: ["from", "to", "services", "review", "allowTag", "requestedBy"],
                                                  limit: service.maxBodyBytes, context: context)
        let catalog = try service.catalog()
        let operation = try Promote(from: body.from, to: body.to, services: body.services ?? [], allowTag: body.allowTag ?? false,
                                    requestedBy: body.requestedBy ?? caller.name)
        try operation.validate(catalog)
        let answer: PromotionAnswer
        let status: HTTPResponse.Status
        if body.review == true {
            let target = operation.to
            let reviewed = try await service.committer.submitForReview(operation, catalog: catalog) { reviewBranchName(target: target, commit: $0) }
            answer = PromotionAnswer(reviewed.outcome, branch: reviewed.branch)
            status = .ok
        } else {
            let outcome = try await service.committer.submit(operation)
            answer = PromotionAnswer(outcome, branch: nil)
            status = outcome.changed ? .created : .ok
        }
        context.logger.info("promote", metadata: ["from": "\(answer.from)", "to": "\(answer.to)", "commit": "\(answer.commit ?? "-")",
                                                  "branch": "\(answer.branch ?? "-")", "caller": "\(caller.name)"])
        return try jsonResponse(answer, status: status)
    }

    @Sendable func rollback(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.releaseManager)
        let environment = try environment(context)
        let body = try await request.decodeStrict(RollbackBody.self, allowedKeys: ["to", "requestedBy"],
                                                  limit: service.maxBodyBytes, context: context)
        let operation = Rollback(environment: environment, target: try Rollback.Target.named(body.to), requestedBy: body.requestedBy ?? caller.name)
        try operation.validate()
        let outcome = try await service.committer.submit(operation)
        context.logger.info("rollback", metadata: ["env": "\(environment.rawValue)", "commit": "\(outcome.commitHex)", "caller": "\(caller.name)"])
        return try jsonResponse(EnvironmentAnswer(outcome), status: outcome.changed ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let environment = try environment(context)
        let answer = try await service.committer.read(refresh: service.refreshReads) { tree in
            try environmentAnswer(environment, tree: tree)
        }
        return try jsonResponse(answer)
    }

    @Sendable func history(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let environment = try environment(context)
        let limit = try historyLimit(request)
        let answer = try await service.committer.read(refresh: service.refreshReads) { tree in
            try environmentHistory(environment, tree: tree, limit: limit)
        }
        return try jsonResponse(answer)
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
