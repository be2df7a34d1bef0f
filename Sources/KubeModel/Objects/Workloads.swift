/// The object kinds Manifestor renders, each with the fields it uses, in Kubernetes' order.

public struct Namespace: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Namespace"
    public var metadata: ObjectMeta
    public init(metadata: ObjectMeta) { self.metadata = metadata }
    public var bodyFields: [(String, YAMLNode)] { [] }
}

public struct ServiceAccount: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "ServiceAccount"
    public var metadata: ObjectMeta
    public var automountServiceAccountToken: Bool?
    public init(metadata: ObjectMeta, automountServiceAccountToken: Bool? = nil) {
        self.metadata = metadata; self.automountServiceAccountToken = automountServiceAccountToken
    }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("automountServiceAccountToken", automountServiceAccountToken)
        return m.fields
    }
}

public struct ConfigMap: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "ConfigMap"
    public var metadata: ObjectMeta
    public var data: [String: String]
    public init(metadata: ObjectMeta, data: [String: String]) { self.metadata = metadata; self.data = data }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("data", sorted: data)
        return m.fields
    }
}

public struct DeploymentStrategy: Sendable, Hashable, YAMLRepresentable {
    public var maxSurge: IntOrString
    public var maxUnavailable: IntOrString
    public init(maxSurge: IntOrString, maxUnavailable: IntOrString) { self.maxSurge = maxSurge; self.maxUnavailable = maxUnavailable }
    public var yamlNode: YAMLNode {
        .mapping([("type", .string("RollingUpdate")), ("rollingUpdate", .mapping([("maxUnavailable", maxUnavailable.yamlNode), ("maxSurge", maxSurge.yamlNode)]))])
    }
}

public struct Deployment: KubeObject {
    public static let apiVersion = "apps/v1"
    public static let kind = "Deployment"
    public var metadata: ObjectMeta
    public var replicas: Int?
    public var selector: LabelSelector
    public var template: PodTemplateSpec
    public var strategy: DeploymentStrategy?
    public var revisionHistoryLimit: Int?
    public init(metadata: ObjectMeta, replicas: Int?, selector: LabelSelector, template: PodTemplateSpec, strategy: DeploymentStrategy? = nil, revisionHistoryLimit: Int? = nil) {
        self.metadata = metadata; self.replicas = replicas; self.selector = selector; self.template = template
        self.strategy = strategy; self.revisionHistoryLimit = revisionHistoryLimit
    }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("replicas", replicas); m.add("selector", selector); m.add("template", template)
        m.add("strategy", strategy); m.add("revisionHistoryLimit", revisionHistoryLimit)
        return [("spec", m.node)]
    }
}

public struct ServicePort: Sendable, Hashable, YAMLRepresentable {
    public var name: String?
    public var port: Int
    public var targetPort: IntOrString?
    public var `protocol`: String?
    public init(name: String? = nil, protocol: String? = "TCP", port: Int, targetPort: IntOrString? = nil) {
        self.name = name; self.protocol = `protocol`; self.port = port; self.targetPort = targetPort
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("name", name); m.add("protocol", `protocol`); m.add("port", port); m.add("targetPort", targetPort)
        return m.node
    }
}

public struct Service: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Service"
    public var metadata: ObjectMeta
    public var ports: [ServicePort]
    public var selector: [String: String]
    public var type: String?
    public init(metadata: ObjectMeta, ports: [ServicePort], selector: [String: String], type: String? = "ClusterIP") {
        self.metadata = metadata; self.ports = ports; self.selector = selector; self.type = type
    }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("ports", ports); m.add("selector", sorted: selector); m.add("type", type)
        return [("spec", m.node)]
    }
}

public struct IngressTLS: Sendable, Hashable, YAMLRepresentable {
    public var hosts: [String]
    /// Absent for previews: ingress-nginx then serves its default (wildcard) certificate.
    public var secretName: String?
    public init(hosts: [String], secretName: String? = nil) { self.hosts = hosts; self.secretName = secretName }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("hosts", strings: hosts); m.add("secretName", secretName)
        return m.node
    }
}

public struct IngressPath: Sendable, Hashable, YAMLRepresentable {
    public var path: String
    public var pathType: String
    public var serviceName: String
    public var servicePort: Int
    public init(path: String, pathType: String = "Prefix", serviceName: String, servicePort: Int) {
        self.path = path; self.pathType = pathType; self.serviceName = serviceName; self.servicePort = servicePort
    }
    public var yamlNode: YAMLNode {
        .mapping([
            ("path", .string(path)), ("pathType", .string(pathType)),
            ("backend", .mapping([("service", .mapping([("name", .string(serviceName)), ("port", .mapping([("number", .int(servicePort))]))]))])),
        ])
    }
}

public struct IngressRule: Sendable, Hashable, YAMLRepresentable {
    public var host: String
    public var paths: [IngressPath]
    public init(host: String, paths: [IngressPath]) { self.host = host; self.paths = paths }
    public var yamlNode: YAMLNode {
        .mapping([("host", .string(host)), ("http", .mapping([("paths", .sequence(paths.map(\.yamlNode)))]))])
    }
}

public struct Ingress: KubeObject {
    public static let apiVersion = "networking.k8s.io/v1"
    public static let kind = "Ingress"
    public var metadata: ObjectMeta
    public var ingressClassName: String?
    public var tls: [IngressTLS]
    public var rules: [IngressRule]
    public init(metadata: ObjectMeta, ingressClassName: String?, tls: [IngressTLS], rules: [IngressRule]) {
        self.metadata = metadata; self.ingressClassName = ingressClassName; self.tls = tls; self.rules = rules
    }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("ingressClassName", ingressClassName); m.add("tls", tls); m.add("rules", rules)
        return [("spec", m.node)]
    }
}
