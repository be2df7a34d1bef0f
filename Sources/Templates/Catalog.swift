import Foundation
import KubeModel

/// One service of the catalog, read from `templates/services/<name>.yaml`.
public struct ServiceSpec: Codable, Sendable, Equatable {
    /// The file's stem; not a key in the file.
    public var name: String = ""
    public var description: String?
    public var port: Int
    /// Path prefix under which a preview routes to this service; absent = not routed.
    public var path: String?
    /// HTTP path that answers 200 when the service is healthy (probes and the smoke test).
    public var healthPath: String?
    /// Image used when neither the request nor staging names one.
    public var defaultImage: String?
    /// Hosts for staging and production; a service without one is not exposed there.
    public var hosts: Hosts?
    public var env: [String: String]?
    public var secretEnv: [String: SecretRef]?
    public var resources: Resources?
    public var runAsUser: Int?
    public var readOnlyRootFilesystem: Bool?
    public var writablePaths: [String]?
    public var environments: PerEnvironment?

    public struct Hosts: Codable, Sendable, Equatable {
        public var staging: String?
        public var production: String?
    }

    public struct SecretRef: Codable, Sendable, Equatable {
        public var secret: String
        public var key: String
    }

    public struct Resources: Codable, Sendable, Equatable {
        public var requests: [String: String]?
        public var limits: [String: String]?
    }

    /// Settings that differ per environment; they are merged over the service's own.
    public struct Overrides: Codable, Sendable, Equatable {
        public var env: [String: String]?
        public var secretEnv: [String: SecretRef]?
        public var replicas: Int?
        public var resources: Resources?
    }

    public struct PerEnvironment: Codable, Sendable, Equatable {
        public var preview: Overrides?
        public var staging: Overrides?
        public var production: Overrides?
    }

    enum CodingKeys: String, CodingKey {
        case description, port, path, healthPath, defaultImage, hosts, env, secretEnv, resources
        case runAsUser, readOnlyRootFilesystem, writablePaths, environments
    }
}

/// Settings of the three environments, read from `templates/environments.yaml`.
public struct EnvironmentSettings: Codable, Sendable, Equatable {
    public var ingress: IngressSettings
    public var smokeTest: SmokeTest
    public var preview: Preview
    public var staging: Stable
    public var production: Stable

    public struct IngressSettings: Codable, Sendable, Equatable {
        public var className: String
        public var clusterIssuer: String
        /// Namespace of the ingress controller: the only outside namespace a preview admits.
        public var controllerNamespace: String
    }

    public struct SmokeTest: Codable, Sendable, Equatable {
        public var image: String
        public var timeoutSeconds: Int
    }

    public struct Preview: Codable, Sendable, Equatable {
        public var domain: String
        public var defaultTTL: String
        public var maxTTL: String
        public var replicas: Int
        public var quota: [String: String]
        public var limitRange: LimitRangeSettings
        /// Namespaces of the data services previews may reach (staging/preview ones, never production).
        public var egressNamespaces: [String]
    }

    public struct LimitRangeSettings: Codable, Sendable, Equatable {
        public var max: [String: String]?
        public var `default`: [String: String]?
        public var defaultRequest: [String: String]?
    }

    public struct Stable: Codable, Sendable, Equatable {
        /// Accepted only as `<project>-<environment>`, the one name the AppProject admits;
        /// the renderer derives it (`Catalog.namespace(of:)`), so the key is best left out.
        public var namespace: String?
        public var replicas: Int
        public var maxReplicas: Int?
        public var disruptionBudget: Bool?
        public var requireDigest: Bool?
    }
}

/// The service catalog and environment settings: everything a render needs besides the request.
public struct Catalog: Sendable, Equatable {
    /// Services in name order.
    public var services: [ServiceSpec]
    public var environments: EnvironmentSettings
    /// The project this catalog describes (`aiworker` for `templates/`).
    public var project: String

    public init(services: [ServiceSpec], environments: EnvironmentSettings, project: String = ProjectName.builtIn) {
        self.services = services.sorted { $0.name < $1.name }
        self.environments = environments
        self.project = project
    }

    /// `<project>-staging` and `<project>-production`, for every project; a preview's is
    /// `preview-task-<id>` (`TaskID.namespace`).
    public func namespace(of environment: EnvironmentName) -> String { "\(project)-\(environment.rawValue)" }

    /// `staging/<project>` and `production/<project>`.
    public func directory(of environment: EnvironmentName) -> String { "\(environment.rawValue)/\(project)" }

    public func service(named name: String) -> ServiceSpec? { services.first { $0.name == name } }

    /// Reads `DIR/services/*.yaml` and `DIR/environments.yaml`, strictly: an unknown or mistyped
    /// key is an error naming the file, the key path and the rule.
    public static func load(directory: URL) throws -> Catalog {
        let fm = FileManager.default
        let envFile = directory.appendingPathComponent("environments.yaml")
        let servicesDir = directory.appendingPathComponent("services")
        guard fm.fileExists(atPath: envFile.path) else {
            throw InputError(code: "invalid_catalog", field: envFile.path, rule: "file not found")
        }
        let environments = try StrictYAML.decode(EnvironmentSettings.self, file: envFile)
        let names = ((try? fm.contentsOfDirectory(atPath: servicesDir.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        guard !names.isEmpty else {
            throw InputError(code: "invalid_catalog", field: servicesDir.path, rule: "must hold at least one <service>.yaml")
        }
        var services: [ServiceSpec] = []
        for fileName in names {
            let file = servicesDir.appendingPathComponent(fileName)
            var spec = try StrictYAML.decode(ServiceSpec.self, file: file)
            spec.name = String(fileName.dropLast(".yaml".count))
            try spec.validate(file: file.path)
            services.append(spec)
        }
        let catalog = Catalog(services: services, environments: environments)
        try catalog.validate(file: envFile.path)
        return catalog
    }
}
