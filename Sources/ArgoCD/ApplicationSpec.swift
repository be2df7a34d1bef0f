import KubeModel

// The parts of Argo CD's `Application` spec that Manifestor renders, modelled after the Go types
// of `argoproj.io/v1alpha1` and written in their field order. Optional fields are optionals:
// absent is not the same as false for Argo CD.

/// Where an Application's manifests come from (`ApplicationSource`).
public struct ApplicationSource: Sendable, Hashable, YAMLRepresentable {
    public var repoURL: String
    public var path: String
    public var targetRevision: String

    public init(repoURL: String, path: String, targetRevision: String) {
        self.repoURL = repoURL; self.path = path; self.targetRevision = targetRevision
    }

    public var yamlNode: YAMLNode {
        .mapping([("repoURL", .string(repoURL)), ("path", .string(path)), ("targetRevision", .string(targetRevision))])
    }
}

/// Where an Application deploys to (`ApplicationDestination`).
public struct ApplicationDestination: Sendable, Hashable, YAMLRepresentable {
    /// The cluster Argo CD runs in, as Argo CD names it.
    public static let inClusterServer = "https://kubernetes.default.svc"

    public var server: String
    public var namespace: String

    public init(server: String = ApplicationDestination.inClusterServer, namespace: String) {
        self.server = server; self.namespace = namespace
    }

    public var yamlNode: YAMLNode {
        .mapping([("server", .string(server)), ("namespace", .string(namespace))])
    }
}

/// `SyncPolicyAutomated`.
public struct AutomatedSync: Sendable, Hashable, YAMLRepresentable {
    public var prune: Bool?
    public var selfHeal: Bool?

    public init(prune: Bool? = nil, selfHeal: Bool? = nil) { self.prune = prune; self.selfHeal = selfHeal }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("prune", prune)
        m.add("selfHeal", selfHeal)
        return m.node
    }
}

/// `RetryStrategy` with its `Backoff`.
public struct RetryStrategy: Sendable, Hashable, YAMLRepresentable {
    public var limit: Int
    /// Go durations (`5s`, `3m`), as Argo CD parses them.
    public var backoffDuration: String
    public var backoffFactor: Int
    public var backoffMaxDuration: String

    public init(limit: Int, backoffDuration: String, backoffFactor: Int, backoffMaxDuration: String) {
        self.limit = limit; self.backoffDuration = backoffDuration
        self.backoffFactor = backoffFactor; self.backoffMaxDuration = backoffMaxDuration
    }

    public var yamlNode: YAMLNode {
        .mapping([
            ("limit", .int(limit)),
            ("backoff", .mapping([
                ("duration", .string(backoffDuration)),
                ("factor", .int(backoffFactor)),
                ("maxDuration", .string(backoffMaxDuration)),
            ])),
        ])
    }
}

/// `SyncPolicy`. No `automated` means a person starts every sync.
public struct SyncPolicy: Sendable, Hashable, YAMLRepresentable {
    public var automated: AutomatedSync?
    public var syncOptions: [String]
    public var retry: RetryStrategy?

    public init(automated: AutomatedSync? = nil, syncOptions: [String] = [], retry: RetryStrategy? = nil) {
        self.automated = automated; self.syncOptions = syncOptions; self.retry = retry
    }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("automated", automated)
        m.add("syncOptions", strings: syncOptions)
        m.add("retry", retry)
        return m.node
    }
}

/// `ApplicationSpec`, single-source.
public struct ApplicationSpec: Sendable, Hashable, YAMLRepresentable {
    public var source: ApplicationSource
    public var destination: ApplicationDestination
    public var project: String
    public var syncPolicy: SyncPolicy?

    public init(source: ApplicationSource, destination: ApplicationDestination, project: String, syncPolicy: SyncPolicy? = nil) {
        self.source = source; self.destination = destination; self.project = project; self.syncPolicy = syncPolicy
    }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("source", source)
        m.add("destination", destination)
        m.add("project", project)
        m.add("syncPolicy", syncPolicy)
        return m.node
    }
}
