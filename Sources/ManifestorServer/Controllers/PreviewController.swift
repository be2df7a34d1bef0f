import Foundation
import GitOps
import GitStore
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
    }

    struct PreviewAnswer: Encodable {
        var taskId: String
        var namespace: String
        var url: String
        var path: String
        var commit: String?
        var expiresAt: String?
        var changed: Bool?
        var images: [String: String]

        init(_ state: PreviewState, commit: ObjectID?, changed: Bool?) {
            taskId = state.taskId; namespace = state.namespace; url = state.url; path = state.path
            self.commit = commit?.hex; expiresAt = state.expiresAt; self.changed = changed; images = state.images
        }
    }

    func taskID(_ context: ManifestorContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        try TaskID.validate(id)
        return id
    }

    @Sendable func deploy(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let id = try taskID(context)
        let body = try await request.decodeStrict(DeployBody.self, allowedKeys: ["images", "ttl", "requestedBy"],
                                                  limit: service.maxBodyBytes, context: context)
        let catalog = try service.catalog()
        let requester = body.requestedBy ?? caller.name
        var operation = DeployPreview(taskID: id, images: body.images, ttl: body.ttl, requestedBy: requester)
        try operation.validate(catalog)
        try await operation.pinImages(with: service.registry)
        let outcome = try await service.committer.submit(operation)
        context.logger.info("deploy-preview", metadata: ["task": "\(id)", "commit": "\(outcome.commit?.hex ?? "-")", "changed": "\(outcome.changed)", "caller": "\(caller.name)"])
        return try jsonResponse(PreviewAnswer(outcome.answer, commit: outcome.commit, changed: outcome.changed),
                                status: outcome.changed ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let id = try taskID(context)
        let domain = try service.catalog().environments.preview.domain
        let found = try await service.committer.read(refresh: service.refreshReads) { tree -> (PreviewState?, ObjectID?) in
            (try GitOps.previewState(taskID: id, tree: tree, domain: domain), tree.commit)
        }
        guard let state = found.0 else { throw APIError(.notFound, code: "preview_not_found", message: "no preview for task \(id)") }
        return try jsonResponse(PreviewAnswer(state, commit: found.1, changed: nil))
    }

    @Sendable func delete(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let id = try taskID(context)
        let operation = DeletePreview(taskID: id, requestedBy: caller.name)
        try operation.validate()
        let outcome = try await service.committer.submit(operation)
        context.logger.info("delete-preview", metadata: ["task": "\(id)", "commit": "\(outcome.commit?.hex ?? "-")", "caller": "\(caller.name)"])
        struct Answer: Encodable { var commit: String?; var taskId: String; var changed: Bool }
        return try jsonResponse(Answer(commit: outcome.commit?.hex, taskId: id, changed: outcome.changed))
    }

    @Sendable func list(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let domain = try service.catalog().environments.preview.domain
        let previews = try await service.committer.read(refresh: service.refreshReads) { tree in
            try GitOps.allPreviews(tree: tree, domain: domain)
        }
        service.metrics.livePreviews.set(Double(previews.count))
        struct Answer: Encodable { var previews: [PreviewAnswer]; var count: Int }
        return try jsonResponse(Answer(previews: previews.map { PreviewAnswer($0, commit: nil, changed: nil) }, count: previews.count))
    }
}
