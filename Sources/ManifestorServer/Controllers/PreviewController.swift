import ArgoCDLink
import Foundation
import GitOps
import Hummingbird
import KubeModel
import Templates

/// deploy-preview, get, delete and list previews.
struct PreviewController {
    let service: ManifestorService

    func register(on router: Router<ManifestorContext>) {
        router.post("/api/tasks/{id}/deploy-preview", use: deploy)
        router.get("/api/tasks/{id}/preview", use: get)
        router.delete("/api/tasks/{id}/preview", use: delete)
        router.get("/api/previews", use: list)
    }

    struct DeployBody: Decodable {
        var images: [String: String]
        var ttl: String?
        var requestedBy: String?
        var project: String?
        var dryRun: Bool?
    }

    func taskID(_ context: ManifestorContext) throws -> String {
        try context.parameter("id", TaskID.validate)
    }

    @Sendable func deploy(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let id = try taskID(context)
        let body = try await request.decodeStrict(DeployBody.self, allowedKeys: ["images", "ttl", "requestedBy", "project", "dryRun"],
                                                  limit: service.maxBodyBytes, context: context)
        // The name is checked by `catalog(of:)` (a registered project) and by `validate`.
        let project = body.project ?? ProjectName.builtIn
        let catalog = try await service.catalog(of: project)
        let requester = body.requestedBy ?? caller.name
        var operation = DeployPreview(taskID: id, images: body.images, ttl: body.ttl, requestedBy: requester, project: project)
        try operation.validate(catalog)
        try await operation.pinImages(with: service.registry)
        if body.dryRun == true { return try jsonResponse(try await service.dryRun(operation, answer: PreviewAnswer.init)) }
        let outcome = try await service.committer.submit(operation)
        context.logger.info("deploy-preview", metadata: ["task": "\(id)", "commit": "\(outcome.commitHex)", "changed": "\(outcome.changed)", "caller": "\(caller.name)"])
        return try jsonResponse(PreviewAnswer(outcome), status: outcome.changed ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let id = try taskID(context)
        let query = try StatusQuery(request, link: service.argocd)
        let domain = try service.catalog().environments.preview.domain
        let found = try await service.committer.preview(taskID: id, domain: domain)
        guard var found else { throw NotFoundError(code: "preview_not_found", message: "no preview for task \(id)") }
        if let link = service.argocd, link.readsStatus {
            if let wait = query.wait {
                found.status = await link.wait(previewOf: id, timeout: wait)
            } else {
                found.status = await link.status(previewOf: id)
            }
        }
        return try jsonResponse(found)
    }

    @Sendable func delete(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let id = try taskID(context)
        let operation = DeletePreview(taskID: id, requestedBy: caller.name)
        try operation.validate()
        if try dryRunQuery(request) { return try jsonResponse(try await service.dryRun(operation, answer: PreviewAnswer.init)) }
        let outcome = try await service.committer.submit(operation)
        context.logger.info("delete-preview", metadata: ["task": "\(id)", "commit": "\(outcome.commitHex)", "caller": "\(caller.name)"])
        return try jsonResponse(PreviewAnswer(outcome))
    }

    /// `?dryRun=true` (or false); anything else is a 400.
    private func dryRunQuery(_ request: Request) throws -> Bool {
        guard let text = request.uri.queryParameters.get("dryRun") else { return false }
        guard let value = Bool(String(text)) else {
            throw APIError(.badRequest, code: "invalid_dry_run", message: "dryRun: must be true or false")
        }
        return value
    }

    @Sendable func list(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let domain = try service.catalog().environments.preview.domain
        let parameters = request.uri.queryParameters
        let query = try PreviewQuery(limit: parameters.get("limit").map { String($0) },
                                     continueToken: parameters.get("continue").map { String($0) },
                                     project: parameters.get("project").map { String($0) },
                                     expiringBefore: parameters.get("expiringBefore").map { String($0) })
        let page = try await service.committer.encodedPreviews(query, domain: domain)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: page)))
    }
}
