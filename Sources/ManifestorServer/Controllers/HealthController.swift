import Foundation
import GitOps
import Hummingbird

/// Liveness, readiness, the build's version, metrics and the API document.
struct HealthController {
    let service: ManifestorService

    func register(on router: Router<ManifestorContext>) {
        router.get("/healthz") { _, _ in try jsonResponse(["status": "ok"]) }
        router.get("/readyz") { _, _ -> Response in
            var ready = service.committer.isReady
            if !ready { ready = await service.committer.probe() }
            if ready {
                return try jsonResponse(["status": "ready"])
            }
            throw APIError(.serviceUnavailable, code: "not_ready", message: "the git remote has not been reached yet", retryAfterSeconds: 5)
        }
        router.get("/version") { _, _ in try jsonResponse(service.build) }
        router.get("/metrics") { _, _ -> Response in
            service.metrics.queueDepth(service.committer.queuedOperations)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: service.metrics.render())))
        }
        router.get("/openapi.yaml") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/yaml"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
    }
}
