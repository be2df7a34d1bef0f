import ArgoCDLink
import Foundation
import GitOps
import Hummingbird
import Logging
import ServiceLifecycle
import Templates

/// Everything `buildApplication` needs.
public struct ServerOptions: Sendable {
    public var config: ManifestorConfig
    public var host: String
    public var port: Int
    public var tokens: TokenStore
    public var clock: @Sendable () -> Date

    public init(config: ManifestorConfig, host: String, port: Int, tokens: TokenStore, clock: @escaping @Sendable () -> Date = Date.init) {
        self.config = config; self.host = host; self.port = port; self.tokens = tokens; self.clock = clock
    }
}

/// Builds the router; tests call the same function.
public func buildRouter(service: ManifestorService, tokens: TokenStore) -> Router<ManifestorContext> {
    let router = Router(context: ManifestorContext.self)
    let routes = RouteTable()
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: RequestMetricsMiddleware(metrics: service.metrics))
    router.add(middleware: MethodNotAllowedMiddleware(routes: routes))
    router.add(middleware: AuthAndErrorMiddleware(tokens: tokens))
    HealthController(service: service).register(on: router)
    PreviewController(service: service).register(on: router)
    EnvironmentController(service: service).register(on: router)
    ProjectController(service: service).register(on: router)
    routes.set(registeredRoutes(router))
    return router
}

/// The routes the server registers, for checking them against the OpenAPI document.
public func registeredRoutes(_ router: Router<ManifestorContext>) -> [(method: String, path: String)] {
    router.routes.map { ($0.method.rawValue, $0.path.description) }
}

/// The service, its routes, and the background work that stops with it.
public func buildApplication(_ options: ServerOptions, logger: Logger = Logger(label: "manifestor")) throws -> (some ApplicationProtocol, ManifestorService) {
    let catalogDirectory = options.config.templates
    // Load once to fail fast on a broken catalog; reload when the folder changes is not needed:
    // the catalog is part of the deployment.
    let catalog = try Catalog.load(directory: catalogDirectory)
    let service = ManifestorService(config: options.config, catalog: { catalog }, clock: options.clock, logger: logger)
    let router = buildRouter(service: service, tokens: options.tokens)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname(options.host, port: options.port), serverName: "manifestor"),
        services: [
            CommitterDrain(committer: service.committer, argocd: service.argocd),
            PreviewExpiryService(committer: service.committer, interval: try PreviewExpiryService.interval(options.config), logger: logger),
        ],
        logger: logger
    )
    return (app, service)
}

/// On shutdown, waits until every accepted operation has been answered, and (a few seconds
/// at most) until Argo CD was told of the last pushes.
struct CommitterDrain: Service {
    let committer: Committer
    let argocd: ArgoCDLink?

    func run() async throws {
        try? await gracefulShutdown()
        await committer.drain()
        await argocd?.drainNotifications(within: .seconds(3))
    }
}
