import Foundation
import KubeModel
import Yams

/// A project's catalog, as `PUT /api/projects/{project}` takes it and `projects/<project>.yaml`
/// keeps it: its services (in the schema of `templates/services/*.yaml`) and optional overrides
/// of the environment settings every project shares (`templates/environments.yaml`).
public struct ProjectDocument: Codable, Sendable, Equatable {
    public var services: [String: ServiceSpec]
    public var environments: EnvironmentOverrides?

    public init(services: [String: ServiceSpec], environments: EnvironmentOverrides? = nil) {
        self.services = services; self.environments = environments
    }

    public struct EnvironmentOverrides: Codable, Sendable, Equatable {
        public var preview: PreviewOverrides?
        public var staging: StableOverrides?
        public var production: StableOverrides?
    }

    public struct PreviewOverrides: Codable, Sendable, Equatable {
        public var defaultTTL: String?
        public var maxTTL: String?
        public var replicas: Int?
        public var quota: [String: String]?
        public var limitRange: EnvironmentSettings.LimitRangeSettings?
        public var egressNamespaces: [String]?
    }

    public struct StableOverrides: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var maxReplicas: Int?
        public var disruptionBudget: Bool?
        public var requireDigest: Bool?
    }

    /// Decodes a document strictly: an unknown or mistyped key is a 422 naming its path.
    public static func decode(_ text: String, source: String) throws -> ProjectDocument {
        do {
            return try StrictYAML.decode(ProjectDocument.self, yaml: text, source: source)
        } catch var error as InputError {
            error.kind = .unprocessable
            throw error
        }
    }

    /// The canonical YAML kept in `projects/<project>.yaml`: keys sorted, so that the same
    /// document gives the same bytes and a change reads as a small diff.
    public func canonicalYAML(project: String) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return "# The catalog of project \(project), registered through Manifestor's API. Generated; do not edit by hand.\n"
            + (try encoder.encode(self))
    }
}

/// Project names: short DNS labels, so that `<project>-staging` and `<project>-production` are too.
public enum ProjectName {
    /// The built-in project: AiWorker itself, from `templates/`.
    public static let builtIn = "aiworker"

    public static func validate(_ name: String) throws {
        let bytes = Array(name.utf8)
        let inner = bytes.count <= 2 ? [] : bytes[1..<(bytes.count - 1)]
        func alnum(_ c: UInt8) -> Bool { (0x61...0x7a).contains(c) || (0x30...0x39).contains(c) }
        guard (1...22).contains(bytes.count), alnum(bytes.first!), alnum(bytes.last!), inner.allSatisfy({ alnum($0) || $0 == 0x2d }) else {
            throw InputError(code: "invalid_project", field: "project",
                             rule: "must match ^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$ (a DNS label of at most 22 characters)")
        }
    }

    /// The path of a project's catalog in the gitops repository.
    public static func file(_ name: String) -> String { "projects/\(name).yaml" }
}

extension Catalog {
    /// The catalog of a registered project: its services, and `base`'s environment settings with
    /// the document's overrides and the project's own staging and production namespaces. Checked
    /// as `load` checks `templates/`, then by rendering every environment.
    /// `rendering: false` skips the renders, for a document that was checked when it was written.
    public static func project(_ name: String, document: ProjectDocument, base: Catalog, rendering: Bool = true) throws -> Catalog {
        func unprocessable(_ error: InputError) -> InputError {
            var error = error
            error.kind = .unprocessable
            return error
        }
        guard !document.services.isEmpty else {
            throw InputError(code: "invalid_catalog", field: "services", rule: "must name at least one service", kind: .unprocessable)
        }
        var services: [ServiceSpec] = []
        for (serviceName, spec) in document.services.sorted(by: { $0.key < $1.key }) {
            var spec = spec
            spec.name = serviceName
            do { try spec.validate(file: "services.\(serviceName)") } catch let error as InputError { throw unprocessable(error) }
            services.append(spec)
        }
        var environments = base.environments
        let o = document.environments
        if let p = o?.preview {
            environments.preview.defaultTTL = p.defaultTTL ?? environments.preview.defaultTTL
            environments.preview.maxTTL = p.maxTTL ?? environments.preview.maxTTL
            environments.preview.replicas = p.replicas ?? environments.preview.replicas
            environments.preview.quota = p.quota ?? environments.preview.quota
            environments.preview.limitRange = p.limitRange ?? environments.preview.limitRange
            environments.preview.egressNamespaces = p.egressNamespaces ?? environments.preview.egressNamespaces
        }
        for (keyPath, overrides) in [(\EnvironmentSettings.staging, o?.staging), (\EnvironmentSettings.production, o?.production)] {
            guard let overrides else { continue }
            environments[keyPath: keyPath].replicas = overrides.replicas ?? environments[keyPath: keyPath].replicas
            environments[keyPath: keyPath].maxReplicas = overrides.maxReplicas ?? environments[keyPath: keyPath].maxReplicas
            environments[keyPath: keyPath].disruptionBudget = overrides.disruptionBudget ?? environments[keyPath: keyPath].disruptionBudget
            environments[keyPath: keyPath].requireDigest = overrides.requireDigest ?? environments[keyPath: keyPath].requireDigest
        }
        environments.staging.namespace = nil
        environments.production.namespace = nil
        let catalog = Catalog(services: services, environments: environments, project: name)
        do {
            try catalog.validate(file: "environments")
            guard rendering else { return catalog }
            // Rendering is the last check: every environment, with a stand-in image per service.
            let renderer = Renderer(catalog: catalog)
            let pinned = Dictionary(uniqueKeysWithValues: services.map {
                ($0.name, "registry.invalid/\($0.name)@sha256:\(String(repeating: "0", count: 64))")
            })
            _ = try renderer.preview(taskID: "validate", images: pinned, ttl: nil, now: Date(timeIntervalSince1970: 0))
            _ = try renderer.staging(images: pinned)
            _ = try renderer.production(images: pinned)
        } catch let error as InputError {
            throw unprocessable(error)
        }
        return catalog
    }
}
