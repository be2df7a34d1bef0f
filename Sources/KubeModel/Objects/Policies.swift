/// Objects that bound what an environment may use or reach.

public struct NetworkPolicyPeer: Sendable, Hashable, YAMLRepresentable {
    public var podSelector: LabelSelector?
    public var namespaceSelector: LabelSelector?
    public init(podSelector: LabelSelector? = nil, namespaceSelector: LabelSelector? = nil) {
        self.podSelector = podSelector; self.namespaceSelector = namespaceSelector
    }
    /// Every pod of the namespace whose name is `name` (the `kubernetes.io/metadata.name` label).
    public static func namespace(_ name: String) -> NetworkPolicyPeer {
        NetworkPolicyPeer(namespaceSelector: LabelSelector(matchLabels: ["kubernetes.io/metadata.name": name]))
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("podSelector", podSelector); m.add("namespaceSelector", namespaceSelector)
        return m.node
    }
}

public struct NetworkPolicyPort: Sendable, Hashable, YAMLRepresentable {
    public var `protocol`: String
    public var port: IntOrString
    public init(protocol: String, port: IntOrString) { self.protocol = `protocol`; self.port = port }
    public var yamlNode: YAMLNode { .mapping([("protocol", .string(`protocol`)), ("port", port.yamlNode)]) }
}

public struct NetworkPolicyRule: Sendable, Hashable {
    public var peers: [NetworkPolicyPeer]
    public var ports: [NetworkPolicyPort]
    public init(peers: [NetworkPolicyPeer], ports: [NetworkPolicyPort] = []) { self.peers = peers; self.ports = ports }
    func node(peerKey: String) -> YAMLNode {
        var m = MappingBuilder()
        m.add(peerKey, peers); m.add("ports", ports)
        return m.node
    }
}

public struct NetworkPolicy: KubeObject {
    public static let apiVersion = "networking.k8s.io/v1"
    public static let kind = "NetworkPolicy"
    public var metadata: ObjectMeta
    public var podSelector: LabelSelector
    public var ingress: [NetworkPolicyRule]
    public var egress: [NetworkPolicyRule]
    public var policyTypes: [String]
    public init(metadata: ObjectMeta, podSelector: LabelSelector, ingress: [NetworkPolicyRule], egress: [NetworkPolicyRule], policyTypes: [String]) {
        self.metadata = metadata; self.podSelector = podSelector; self.ingress = ingress; self.egress = egress; self.policyTypes = policyTypes
    }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("podSelector", podSelector)
        if !ingress.isEmpty { m.add("ingress", .sequence(ingress.map { $0.node(peerKey: "from") })) }
        if !egress.isEmpty { m.add("egress", .sequence(egress.map { $0.node(peerKey: "to") })) }
        m.add("policyTypes", strings: policyTypes)
        return [("spec", m.node)]
    }
}

public struct ResourceQuota: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "ResourceQuota"
    public var metadata: ObjectMeta
    public var hard: [String: Quantity]
    public init(metadata: ObjectMeta, hard: [String: Quantity]) { self.metadata = metadata; self.hard = hard }
    public var bodyFields: [(String, YAMLNode)] {
        [("spec", .mapping([("hard", .sorted(hard.mapValues(\.yamlNode)))]))]
    }
}

public struct LimitRangeItem: Sendable, Hashable, YAMLRepresentable {
    public var type: String
    public var max: [String: Quantity]
    public var `default`: [String: Quantity]
    public var defaultRequest: [String: Quantity]
    public init(type: String, max: [String: Quantity] = [:], default: [String: Quantity] = [:], defaultRequest: [String: Quantity] = [:]) {
        self.type = type; self.max = max; self.default = `default`; self.defaultRequest = defaultRequest
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("type", type)
        if !max.isEmpty { m.add("max", .sorted(max.mapValues(\.yamlNode))) }
        if !`default`.isEmpty { m.add("default", .sorted(`default`.mapValues(\.yamlNode))) }
        if !defaultRequest.isEmpty { m.add("defaultRequest", .sorted(defaultRequest.mapValues(\.yamlNode))) }
        return m.node
    }
}

public struct LimitRange: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "LimitRange"
    public var metadata: ObjectMeta
    public var limits: [LimitRangeItem]
    public init(metadata: ObjectMeta, limits: [LimitRangeItem]) { self.metadata = metadata; self.limits = limits }
    public var bodyFields: [(String, YAMLNode)] {
        [("spec", .mapping([("limits", .sequence(limits.map(\.yamlNode)))]))]
    }
}

public struct PodDisruptionBudget: KubeObject {
    public static let apiVersion = "policy/v1"
    public static let kind = "PodDisruptionBudget"
    public var metadata: ObjectMeta
    public var minAvailable: IntOrString
    public var selector: LabelSelector
    public init(metadata: ObjectMeta, minAvailable: IntOrString, selector: LabelSelector) {
        self.metadata = metadata; self.minAvailable = minAvailable; self.selector = selector
    }
    public var bodyFields: [(String, YAMLNode)] {
        [("spec", .mapping([("minAvailable", minAvailable.yamlNode), ("selector", selector.yamlNode)]))]
    }
}

public struct HorizontalPodAutoscaler: KubeObject {
    public static let apiVersion = "autoscaling/v2"
    public static let kind = "HorizontalPodAutoscaler"
    public var metadata: ObjectMeta
    public var deploymentName: String
    public var minReplicas: Int
    public var maxReplicas: Int
    public var cpuUtilization: Int
    public init(metadata: ObjectMeta, deploymentName: String, minReplicas: Int, maxReplicas: Int, cpuUtilization: Int) {
        self.metadata = metadata; self.deploymentName = deploymentName; self.minReplicas = minReplicas
        self.maxReplicas = maxReplicas; self.cpuUtilization = cpuUtilization
    }
    public var bodyFields: [(String, YAMLNode)] {
        [("spec", .mapping([
            ("scaleTargetRef", .mapping([("kind", .string("Deployment")), ("name", .string(deploymentName)), ("apiVersion", .string("apps/v1"))])),
            ("minReplicas", .int(minReplicas)),
            ("maxReplicas", .int(maxReplicas)),
            ("metrics", .sequence([.mapping([
                ("type", .string("Resource")),
                ("resource", .mapping([("name", .string("cpu")), ("target", .mapping([("type", .string("Utilization")), ("averageUtilization", .int(cpuUtilization))]))])),
            ])])),
        ]))]
    }
}

public struct Job: KubeObject {
    public static let apiVersion = "batch/v1"
    public static let kind = "Job"
    public var metadata: ObjectMeta
    public var activeDeadlineSeconds: Int?
    public var backoffLimit: Int?
    public var ttlSecondsAfterFinished: Int?
    public var template: PodTemplateSpec
    public init(metadata: ObjectMeta, activeDeadlineSeconds: Int? = nil, backoffLimit: Int? = nil, ttlSecondsAfterFinished: Int? = nil, template: PodTemplateSpec) {
        self.metadata = metadata; self.activeDeadlineSeconds = activeDeadlineSeconds; self.backoffLimit = backoffLimit
        self.ttlSecondsAfterFinished = ttlSecondsAfterFinished; self.template = template
    }
    public var bodyFields: [(String, YAMLNode)] {
        var m = MappingBuilder()
        m.add("activeDeadlineSeconds", activeDeadlineSeconds); m.add("backoffLimit", backoffLimit)
        m.add("template", template); m.add("ttlSecondsAfterFinished", ttlSecondsAfterFinished)
        return [("spec", m.node)]
    }
}
