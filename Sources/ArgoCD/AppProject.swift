import KubeModel

/// An Argo CD `AppProject`: which repositories, destinations and kinds its Applications may use.
public struct AppProject: KubeObject {
    public static let apiVersion = "argoproj.io/v1alpha1"
    public static let kind = "AppProject"
    public var metadata: ObjectMeta
    public var sourceRepos: [String]
    public var destinations: [ApplicationDestination]
    public var description: String?
    /// Cluster-scoped kinds allowed; empty allows none.
    public var clusterResourceWhitelist: [GroupKind]
    /// Namespaced kinds allowed; Argo CD allows every namespaced kind when this is absent.
    public var namespaceResourceWhitelist: [GroupKind]
    /// Project roles, whose tokens (`argocd proj role create-token`) act within the project only.
    public var roles: [ProjectRole]

    public init(metadata: ObjectMeta, sourceRepos: [String], destinations: [ApplicationDestination], description: String? = nil,
                roles: [ProjectRole] = [], clusterResourceWhitelist: [GroupKind], namespaceResourceWhitelist: [GroupKind]) {
        self.metadata = metadata; self.sourceRepos = sourceRepos; self.destinations = destinations
        self.description = description; self.roles = roles; self.clusterResourceWhitelist = clusterResourceWhitelist
        self.namespaceResourceWhitelist = namespaceResourceWhitelist
    }

    public var bodyFields: [(String, YAMLNode)] {
        // Field order of Go's AppProjectSpec.
        var spec = MappingBuilder()
        spec.add("sourceRepos", strings: sourceRepos)
        spec.add("destinations", destinations)
        spec.add("description", description)
        spec.add("roles", roles)
        spec.add("clusterResourceWhitelist", clusterResourceWhitelist)
        spec.add("namespaceResourceWhitelist", namespaceResourceWhitelist)
        return [("spec", spec.node)]
    }
}

/// A role of an AppProject (`ProjectRole` in Argo CD's types): a name, a description, and
/// Casbin policy lines `p, proj:<project>:<role>, <resource>, <action>, <project>/<object>, allow`.
public struct ProjectRole: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var description: String
    public var policies: [String]

    public init(name: String, description: String, policies: [String]) {
        self.name = name; self.description = description; self.policies = policies
    }

    public var yamlNode: YAMLNode {
        .mapping([("name", .string(name)), ("description", .string(description)), ("policies", .sequence(policies.map { .string($0) }))])
    }
}

/// A Kubernetes API group and kind (`metav1.GroupKind`); the core group is "".
public struct GroupKind: Sendable, Hashable, YAMLRepresentable, CustomStringConvertible {
    public var group: String
    public var kind: String

    public init(group: String, kind: String) { self.group = group; self.kind = kind }

    /// From an object's `apiVersion` (`apps/v1`, `v1`) and kind.
    public init(apiVersion: String, kind: String) {
        let parts = apiVersion.split(separator: "/", maxSplits: 1)
        self.init(group: parts.count == 2 ? String(parts[0]) : "", kind: kind)
    }

    public var yamlNode: YAMLNode { .mapping([("group", .string(group)), ("kind", .string(kind))]) }

    public var description: String { group.isEmpty ? kind : "\(kind).\(group)" }
}
