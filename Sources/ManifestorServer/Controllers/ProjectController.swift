import Foundation
import GitOps
import Hummingbird
import KubeModel
import Templates

/// The project registry: register, read, list and delete project catalogs.
struct ProjectController {
    let service: ManifestorService

    func register(on router: Router<ManifestorContext>) {
        router.get("/api/projects", use: list)
        router.put("/api/projects/{project}", use: put)
        router.get("/api/projects/{project}", use: get)
        router.delete("/api/projects/{project}", use: delete)
    }

    func project(_ context: ManifestorContext) throws -> String {
        try context.parameter("project", ProjectName.validate)
    }

    /// The document is decoded strictly at every depth: an unknown or mistyped key is a 422
    /// naming its path; it is then checked by rendering every environment of the project.
    @Sendable func put(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let name = try project(context)
        let body = try await request.jsonObject(allowedKeys: ["services", "environments"], limit: service.maxBodyBytes)
        let document = try ProjectDocument.decode(String(decoding: body, as: UTF8.self), source: "body")
        let operation = RegisterProject(project: name, document: document, requestedBy: caller.name)
        try operation.validate(builtIn: try service.catalog())
        let outcome = try await service.committer.submit(operation)
        context.logger.info("register-project", metadata: ["project": "\(name)", "commit": "\(outcome.commitHex)",
                                                           "changed": "\(outcome.changed)", "caller": "\(caller.name)"])
        let answer = ProjectAnswer(outcome)
        return try jsonResponse(answer, status: answer.created == true ? .created : .ok)
    }

    @Sendable func get(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let name = try project(context)
        let builtIn = try service.catalog()
        let answer = try await service.committer.read(refresh: service.refreshReads) { tree in
            try ProjectAnswer.read(name, tree: tree, builtIn: builtIn)
        }
        return try jsonResponse(answer)
    }

    @Sendable func list(_ request: Request, context: ManifestorContext) async throws -> Response {
        _ = try context.require(.reader)
        let builtIn = try service.catalog()
        let answer = try await service.committer.read(refresh: service.refreshReads) { tree in
            try ProjectList(tree: tree, builtIn: builtIn)
        }
        return try jsonResponse(answer)
    }

    @Sendable func delete(_ request: Request, context: ManifestorContext) async throws -> Response {
        let caller = try context.require(.deployer)
        let operation = DeleteProject(project: try project(context), requestedBy: caller.name)
        try operation.validate()
        let outcome = try await service.committer.submit(operation)
        context.logger.info("delete-project", metadata: ["project": "\(operation.project)", "commit": "\(outcome.commitHex)",
                                                         "caller": "\(caller.name)"])
        return try jsonResponse(ProjectAnswer(outcome))
    }
}
