import Foundation
import KubeModel

/// The typed templates: catalog + environment + request → objects.
public struct Renderer: Sendable {
    public let catalog: Catalog

    public init(catalog: Catalog) { self.catalog = catalog }

    public static let partOf = "aiworker"
    public static let managedBy = "manifestor"
    public static let expiresAtAnnotation = "aiworker.dev/expires-at"
    public static let taskIDLabel = "aiworker.dev/task-id"
    public static let imageTagAnnotation = "aiworker.dev/image-tag"
    public static let projectLabel = "aiworker.dev/project"

    // MARK: - Environments

    /// A full stack on `task-<id>.<domain>`, routed by path, in its own namespace that expires.
    /// A service without a requested image runs `fallbackImages` (what staging runs), else the
    /// catalog's default.
    public func preview(taskID: String, images: [String: String], ttl: String?, now: Date,
                        fallbackImages: [String: String] = [:], imageTags: [String: String] = [:]) throws -> RenderedEnvironment {
        try TaskID.validate(taskID)
        let expiresAt = try previewExpiry(ttl: ttl, now: now)
        let resolved = try resolveImages(images, fallback: fallbackImages, requireDigest: false)
        return try preview(taskID: taskID, images: resolved, expiresAt: expiresAt, imageTags: imageTags)
    }

    /// When a preview deployed `now` with `ttl` (default: the catalog's) expires, whole seconds.
    public func previewExpiry(ttl: String?, now: Date) throws -> Date {
        let settings = catalog.environments.preview
        let maxTTL = try TTL.parse(settings.maxTTL, field: "preview.maxTTL", max: nil)
        let ttlSeconds = try TTL.parse(ttl ?? settings.defaultTTL, field: "ttl", max: maxTTL)
        return Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(ttlSeconds)).rounded(.down))
    }

    /// Every check `preview` makes of a request, without rendering: the task id, the TTL and
    /// the images (services of the catalog, valid references, one for every service).
    public func validatePreview(taskID: String, images: [String: String], ttl: String?) throws {
        try TaskID.validate(taskID)
        _ = try previewExpiry(ttl: ttl, now: Date(timeIntervalSince1970: 0))
        _ = try resolveImages(images, fallback: [:], requireDigest: false)
    }

    /// The preview with an explicit expiry (used when a re-deploy keeps the current one).
    public func preview(taskID: String, images resolved: [String: ImageReference], expiresAt: Date, imageTags: [String: String] = [:]) throws -> RenderedEnvironment {
        try TaskID.validate(taskID)
        RenderCounter.shared.increment()
        let settings = catalog.environments.preview
        let namespace = TaskID.namespace(taskID)
        let host = "task-\(taskID).\(settings.domain)"
        let scope = Scope(environment: .preview, namespace: namespace, taskID: taskID, project: catalog.project)

        var objects: [AnyKubeObject] = []
        objects.append(AnyKubeObject(Namespace(metadata: scope.meta(namespace, component: "preview", namespaced: false,
                                                                   annotations: [Self.expiresAtAnnotation: RFC3339.format(expiresAt)]))))
        objects.append(AnyKubeObject(ResourceQuota(metadata: scope.meta("preview-quota", component: "preview"),
                                                   hard: settings.quota.compactMapValues(Quantity.init))))
        let lr = settings.limitRange
        objects.append(AnyKubeObject(LimitRange(metadata: scope.meta("preview-limits", component: "preview"), limits: [
            LimitRangeItem(type: "Container", max: (lr.max ?? [:]).compactMapValues(Quantity.init),
                           default: (lr.default ?? [:]).compactMapValues(Quantity.init),
                           defaultRequest: (lr.defaultRequest ?? [:]).compactMapValues(Quantity.init)),
        ])))
        objects.append(AnyKubeObject(previewNetworkPolicy(scope)))
        for service in catalog.services {
            objects += workload(service, scope: scope, image: resolved[service.name]!, imageTag: imageTags[service.name],
                                replicas: service.environments?.preview?.replicas ?? settings.replicas)
        }
        let routed = catalog.services.filter { $0.path != nil }
            .sorted { ($0.path!.count, $1.name) > ($1.path!.count, $0.name) }
        if !routed.isEmpty {
            objects.append(AnyKubeObject(Ingress(
                metadata: scope.meta(namespace, component: "preview"),
                ingressClassName: catalog.environments.ingress.className,
                tls: [IngressTLS(hosts: [host])],
                rules: [IngressRule(host: host, paths: routed.map { IngressPath(path: $0.path!, serviceName: $0.name, servicePort: $0.port) })]
            )))
        }
        objects.append(AnyKubeObject(smokeTest(scope)))
        return RenderedEnvironment(directory: TaskID.directory(taskID), namespace: namespace, objects: objects,
                                   images: resolved.mapValues(\.description), expiresAt: expiresAt)
    }

    /// staging/<project>/: every service with the given image; the others keep `fallbackImages` (what
    /// staging runs now), else the catalog's default.
    public func staging(images: [String: String], fallbackImages: [String: String] = [:], imageTags: [String: String] = [:]) throws -> RenderedEnvironment {
        let resolved = try resolveImages(images, fallback: fallbackImages, requireDigest: catalog.environments.staging.requireDigest ?? false)
        return stable(.staging, images: resolved, imageTags: imageTags)
    }

    /// production/<project>/: refuses an image without a digest unless `allowTag`.
    public func production(images: [String: String], fallbackImages: [String: String] = [:], imageTags: [String: String] = [:], allowTag: Bool = false) throws -> RenderedEnvironment {
        let resolved = try resolveImages(images, fallback: fallbackImages,
                                         requireDigest: !allowTag && (catalog.environments.production.requireDigest ?? true))
        return stable(.production, images: resolved, imageTags: imageTags)
    }

    public func render(_ environment: EnvironmentName, images: [String: String], fallbackImages: [String: String] = [:], imageTags: [String: String] = [:], allowTag: Bool = false) throws -> RenderedEnvironment {
        switch environment {
        case .staging: return try staging(images: images, fallbackImages: fallbackImages, imageTags: imageTags)
        case .production: return try production(images: images, fallbackImages: fallbackImages, imageTags: imageTags, allowTag: allowTag)
        case .preview: throw InputError(code: "invalid_environment", field: "env", rule: "a preview needs a task id")
        }
    }

    private func stable(_ environment: EnvironmentName, images: [String: ImageReference], imageTags: [String: String]) -> RenderedEnvironment {
        RenderCounter.shared.increment()
        let settings = environment == .production ? catalog.environments.production : catalog.environments.staging
        let namespace = catalog.namespace(of: environment)
        let scope = Scope(environment: environment, namespace: namespace, taskID: nil, project: catalog.project)
        var objects: [AnyKubeObject] = []
        for service in catalog.services {
            let overrides = environment == .production ? service.environments?.production : service.environments?.staging
            let replicas = overrides?.replicas ?? settings.replicas
            objects += workload(service, scope: scope, image: images[service.name]!, imageTag: imageTags[service.name], replicas: replicas)
            if environment == .production {
                if settings.disruptionBudget ?? true, replicas >= 2 {
                    objects.append(AnyKubeObject(PodDisruptionBudget(
                        metadata: scope.meta(service.name, component: service.name), minAvailable: .int(1),
                        selector: LabelSelector(matchLabels: scope.selector(service.name)))))
                }
                if let maxReplicas = settings.maxReplicas, maxReplicas > replicas {
                    objects.append(AnyKubeObject(HorizontalPodAutoscaler(
                        metadata: scope.meta(service.name, component: service.name), deploymentName: service.name,
                        minReplicas: replicas, maxReplicas: maxReplicas, cpuUtilization: 75)))
                }
            }
            let host = environment == .production ? service.hosts?.production : service.hosts?.staging
            if let host {
                objects.append(AnyKubeObject(Ingress(
                    metadata: scope.meta(service.name, component: service.name,
                                         annotations: ["cert-manager.io/cluster-issuer": catalog.environments.ingress.clusterIssuer]),
                    ingressClassName: catalog.environments.ingress.className,
                    tls: [IngressTLS(hosts: [host], secretName: "\(service.name)-tls")],
                    rules: [IngressRule(host: host, paths: [IngressPath(path: "/", serviceName: service.name, servicePort: service.port)])]
                )))
            }
        }
        objects.append(AnyKubeObject(smokeTest(scope)))
        return RenderedEnvironment(directory: catalog.directory(of: environment), namespace: namespace, objects: objects,
                                   images: images.mapValues(\.description), expiresAt: nil)
    }

    // MARK: - Images

    /// Every service gets an image: the requested one, else the fallback, else the catalog's default.
    public func resolveImages(_ requested: [String: String], fallback: [String: String], requireDigest: Bool) throws -> [String: ImageReference] {
        for name in requested.keys.sorted() where catalog.service(named: name) == nil {
            throw InputError(code: "unknown_service", field: "images.\(name)",
                             rule: "unknown service; the catalog has \(catalog.services.map(\.name).joined(separator: ", "))", kind: .unprocessable)
        }
        var out: [String: ImageReference] = [:]
        for service in catalog.services {
            let field = "images.\(service.name)"
            guard let text = requested[service.name] ?? fallback[service.name] ?? service.defaultImage else {
                throw InputError(code: "missing_image", field: field, rule: "is required: no image was given and none runs in staging", kind: .unprocessable)
            }
            let ref: ImageReference
            do { ref = try ImageReference(parsing: text) } catch {
                throw InputError(code: "invalid_image", field: field, rule: error.description, kind: .unprocessable)
            }
            if requireDigest, ref.digest == nil {
                throw InputError(code: "image_not_pinned", field: field,
                                 rule: "\"\(text)\" must name a digest (repository@sha256:...) in production; pass --allow-tag to accept a tag", kind: .unprocessable)
            }
            out[service.name] = ref
        }
        return out
    }
}

/// How many environments this process has rendered (the `manifestor_renders_total` metric).
public final class RenderCounter: @unchecked Sendable {
    public static let shared = RenderCounter()
    private let lock = NSLock()
    private var count = 0

    func increment() { lock.withLock { count += 1 } }

    public var value: Int { lock.withLock { count } }
}
