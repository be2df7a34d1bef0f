/// Pod-level types, modelled on core/v1 with only the fields Manifestor renders.

public struct ContainerPort: Sendable, Hashable, YAMLRepresentable {
    public var name: String?
    public var containerPort: Int
    public var `protocol`: String?
    public init(name: String? = nil, containerPort: Int, protocol: String? = "TCP") {
        self.name = name; self.containerPort = containerPort; self.protocol = `protocol`
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("name", name); m.add("containerPort", containerPort); m.add("protocol", `protocol`)
        return m.node
    }
}

public struct KeySelector: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var key: String
    public var optional: Bool?
    public init(name: String, key: String, optional: Bool? = nil) { self.name = name; self.key = key; self.optional = optional }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("name", name); m.add("key", key); m.add("optional", optional)
        return m.node
    }
}

public struct EnvVar: Sendable, Hashable, YAMLRepresentable {
    public enum Source: Sendable, Hashable {
        case value(String)
        case secretKeyRef(KeySelector)
        case configMapKeyRef(KeySelector)
    }
    public var name: String
    public var source: Source
    public init(name: String, source: Source) { self.name = name; self.source = source }
    public static func value(_ name: String, _ value: String) -> EnvVar { EnvVar(name: name, source: .value(value)) }

    public var yamlNode: YAMLNode {
        switch source {
        case .value(let v): return .mapping([("name", .string(name)), ("value", .string(v))])
        case .secretKeyRef(let k): return .mapping([("name", .string(name)), ("valueFrom", .mapping([("secretKeyRef", k.yamlNode)]))])
        case .configMapKeyRef(let k): return .mapping([("name", .string(name)), ("valueFrom", .mapping([("configMapKeyRef", k.yamlNode)]))])
        }
    }
}

public struct EnvFromSource: Sendable, Hashable, YAMLRepresentable {
    public enum Source: Sendable, Hashable { case configMap(String), secret(String) }
    public var source: Source
    public var optional: Bool?
    public init(_ source: Source, optional: Bool? = nil) { self.source = source; self.optional = optional }
    public var yamlNode: YAMLNode {
        var ref = MappingBuilder()
        switch source {
        case .configMap(let n): ref.add("name", n)
        case .secret(let n): ref.add("name", n)
        }
        ref.add("optional", optional)
        switch source {
        case .configMap: return .mapping([("configMapRef", ref.node)])
        case .secret: return .mapping([("secretRef", ref.node)])
        }
    }
}

public struct ResourceRequirements: Sendable, Hashable, YAMLRepresentable {
    public var limits: [String: Quantity]
    public var requests: [String: Quantity]
    public init(limits: [String: Quantity] = [:], requests: [String: Quantity] = [:]) { self.limits = limits; self.requests = requests }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        if !limits.isEmpty { m.add("limits", .sorted(limits.mapValues(\.yamlNode))) }
        if !requests.isEmpty { m.add("requests", .sorted(requests.mapValues(\.yamlNode))) }
        return m.node
    }
}

public struct HTTPGetAction: Sendable, Hashable, YAMLRepresentable {
    public var path: String
    public var port: IntOrString
    public init(path: String, port: IntOrString) { self.path = path; self.port = port }
    public var yamlNode: YAMLNode { .mapping([("path", .string(path)), ("port", port.yamlNode)]) }
}

public struct Probe: Sendable, Hashable, YAMLRepresentable {
    public var httpGet: HTTPGetAction
    public var initialDelaySeconds: Int?
    public var timeoutSeconds: Int?
    public var periodSeconds: Int?
    public var failureThreshold: Int?
    public init(httpGet: HTTPGetAction, initialDelaySeconds: Int? = nil, timeoutSeconds: Int? = nil, periodSeconds: Int? = nil, failureThreshold: Int? = nil) {
        self.httpGet = httpGet; self.initialDelaySeconds = initialDelaySeconds; self.timeoutSeconds = timeoutSeconds
        self.periodSeconds = periodSeconds; self.failureThreshold = failureThreshold
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("httpGet", httpGet)
        m.add("initialDelaySeconds", initialDelaySeconds); m.add("timeoutSeconds", timeoutSeconds)
        m.add("periodSeconds", periodSeconds); m.add("failureThreshold", failureThreshold)
        return m.node
    }
}

public struct SeccompProfile: Sendable, Hashable, YAMLRepresentable {
    public var type: String
    public static let runtimeDefault = SeccompProfile(type: "RuntimeDefault")
    public var yamlNode: YAMLNode { .mapping([("type", .string(type))]) }
}

public struct SecurityContext: Sendable, Hashable, YAMLRepresentable {
    public var capabilitiesDrop: [String]
    public var runAsUser: Int?
    public var runAsNonRoot: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var seccompProfile: SeccompProfile?
    public init(capabilitiesDrop: [String] = [], runAsUser: Int? = nil, runAsNonRoot: Bool? = nil, readOnlyRootFilesystem: Bool? = nil, allowPrivilegeEscalation: Bool? = nil, seccompProfile: SeccompProfile? = nil) {
        self.capabilitiesDrop = capabilitiesDrop; self.runAsUser = runAsUser; self.runAsNonRoot = runAsNonRoot
        self.readOnlyRootFilesystem = readOnlyRootFilesystem; self.allowPrivilegeEscalation = allowPrivilegeEscalation
        self.seccompProfile = seccompProfile
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        if !capabilitiesDrop.isEmpty { m.add("capabilities", .mapping([("drop", .sequence(capabilitiesDrop.map { .string($0) }))])) }
        m.add("runAsUser", runAsUser); m.add("runAsNonRoot", runAsNonRoot)
        m.add("readOnlyRootFilesystem", readOnlyRootFilesystem); m.add("allowPrivilegeEscalation", allowPrivilegeEscalation)
        m.add("seccompProfile", seccompProfile)
        return m.node
    }
}

public struct PodSecurityContext: Sendable, Hashable, YAMLRepresentable {
    public var runAsUser: Int?
    public var runAsNonRoot: Bool?
    public var fsGroup: Int?
    public var seccompProfile: SeccompProfile?
    public init(runAsUser: Int? = nil, runAsNonRoot: Bool? = nil, fsGroup: Int? = nil, seccompProfile: SeccompProfile? = nil) {
        self.runAsUser = runAsUser; self.runAsNonRoot = runAsNonRoot; self.fsGroup = fsGroup; self.seccompProfile = seccompProfile
    }
    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("runAsUser", runAsUser); m.add("runAsNonRoot", runAsNonRoot)
        m.add("fsGroup", fsGroup); m.add("seccompProfile", seccompProfile)
        return m.node
    }
}

public struct VolumeMount: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var mountPath: String
    public init(name: String, mountPath: String) { self.name = name; self.mountPath = mountPath }
    public var yamlNode: YAMLNode { .mapping([("name", .string(name)), ("mountPath", .string(mountPath))]) }
}

/// A volume; only `emptyDir` is rendered (scratch space under a read-only root filesystem).
public struct Volume: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var emptyDirSizeLimit: Quantity?
    public init(name: String, emptyDirSizeLimit: Quantity? = nil) { self.name = name; self.emptyDirSizeLimit = emptyDirSizeLimit }
    public var yamlNode: YAMLNode {
        var e = MappingBuilder()
        e.add("sizeLimit", emptyDirSizeLimit)
        return .mapping([("name", .string(name)), ("emptyDir", e.node)])
    }
}

public struct Container: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var image: String
    public var command: [String] = []
    public var args: [String] = []
    public var ports: [ContainerPort] = []
    public var envFrom: [EnvFromSource] = []
    public var env: [EnvVar] = []
    public var resources: ResourceRequirements?
    public var volumeMounts: [VolumeMount] = []
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var imagePullPolicy: String?
    public var securityContext: SecurityContext?

    public init(name: String, image: String) { self.name = name; self.image = image }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("name", name); m.add("image", image)
        m.add("command", strings: command); m.add("args", strings: args)
        m.add("ports", ports); m.add("envFrom", envFrom); m.add("env", env)
        m.add("resources", resources); m.add("volumeMounts", volumeMounts)
        m.add("livenessProbe", livenessProbe); m.add("readinessProbe", readinessProbe)
        m.add("imagePullPolicy", imagePullPolicy); m.add("securityContext", securityContext)
        return m.node
    }
}

public struct PodSpec: Sendable, Hashable, YAMLRepresentable {
    public var volumes: [Volume] = []
    public var containers: [Container]
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int?
    public var serviceAccountName: String?
    public var automountServiceAccountToken: Bool?
    public var securityContext: PodSecurityContext?

    public init(containers: [Container]) { self.containers = containers }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("volumes", volumes); m.add("containers", containers)
        m.add("restartPolicy", restartPolicy); m.add("terminationGracePeriodSeconds", terminationGracePeriodSeconds)
        m.add("serviceAccountName", serviceAccountName); m.add("automountServiceAccountToken", automountServiceAccountToken)
        m.add("securityContext", securityContext)
        return m.node
    }
}

public struct PodTemplateSpec: Sendable, Hashable, YAMLRepresentable {
    public var labels: [String: String]
    public var annotations: [String: String]
    public var spec: PodSpec
    public init(labels: [String: String], annotations: [String: String] = [:], spec: PodSpec) {
        self.labels = labels; self.annotations = annotations; self.spec = spec
    }
    public var yamlNode: YAMLNode {
        var meta = MappingBuilder()
        meta.add("labels", sorted: labels); meta.add("annotations", sorted: annotations)
        return .mapping([("metadata", meta.node), ("spec", spec.yamlNode)])
    }
}
