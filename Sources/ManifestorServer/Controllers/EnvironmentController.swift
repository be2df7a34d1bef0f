import Foundation
import Hummingbird

/// Staging deploys, promotion, rollback and history.
struct EnvironmentController {
    let service: ManifestorService

    func register(on router: Router<ManifestorContext>) {
        router.post("/api/environments/staging/deploy") { _, context -> Response in
            _ = try context.require(.deployer)
            throw notYet
        }
        router.post("/api/promote") { _, context -> Response in
            _ = try context.require(.releaseManager)
            throw notYet
        }
        router.post("/api/environments/{env}/rollback") { _, context -> Response in
            _ = try context.require(.releaseManager)
            throw notYet
        }
        router.get("/api/environments/{env}") { _, context -> Response in
            _ = try context.require(.reader)
            throw notYet
        }
        router.get("/api/environments/{env}/history") { _, context -> Response in
            _ = try context.require(.reader)
            throw notYet
        }
    }

    private var notYet: APIError { APIError(.notImplemented, code: "not_implemented", message: "this route is not implemented yet") }
}
