import KubeModel

/// An Argo CD `ApplicationSet` with one git directory generator: every directory matching
/// `directories` becomes an Application made from `template`.
public struct ApplicationSet: KubeObject {
    public static let apiVersion = "argoproj.io/v1alpha1"
    public static let kind = "ApplicationSet"
    public var metadata: ObjectMeta
    /// `false`: the template uses fasttemplate parameters (`{{path.basename}}`), not Go templates.
    public var goTemplate: Bool
    public var generator: GitDirectoryGenerator
    public var template: ApplicationTemplate
    /// `syncPolicy.preserveResourcesOnDeletion`. Unless it is `true`, the controller gives every
    /// Application whose template names no finalizer the resources finalizer, so deleting the
    /// Application (its directory gone, or the ApplicationSet deleted) deletes what it deployed.
    /// `true` leaves such a template without one: deleting the Application leaves its objects.
    /// nil leaves the field out, which Argo CD reads as `false`.
    public var preserveResourcesOnDeletion: Bool?

    public init(metadata: ObjectMeta, goTemplate: Bool = false, generator: GitDirectoryGenerator,
                template: ApplicationTemplate, preserveResourcesOnDeletion: Bool? = nil) {
        self.metadata = metadata; self.goTemplate = goTemplate; self.generator = generator
        self.template = template; self.preserveResourcesOnDeletion = preserveResourcesOnDeletion
    }

    public var bodyFields: [(String, YAMLNode)] {
        var spec = MappingBuilder()
        spec.add("goTemplate", goTemplate)
        spec.add("generators", .sequence([.mapping([("git", generator.yamlNode)])]))
        spec.add("template", template)
        if let preserveResourcesOnDeletion {
            spec.add("syncPolicy", .mapping([("preserveResourcesOnDeletion", .bool(preserveResourcesOnDeletion))]))
        }
        return [("spec", spec.node)]
    }
}

/// `GitGenerator` restricted to directories.
public struct GitDirectoryGenerator: Sendable, Hashable, YAMLRepresentable {
    public var repoURL: String
    /// Path globs, as Argo CD matches them against the repository's directories.
    public var directories: [String]
    public var revision: String

    public init(repoURL: String, directories: [String], revision: String) {
        self.repoURL = repoURL; self.directories = directories; self.revision = revision
    }

    public var yamlNode: YAMLNode {
        .mapping([
            ("repoURL", .string(repoURL)),
            ("directories", .sequence(directories.map { .mapping([("path", .string($0))]) })),
            ("revision", .string(revision)),
        ])
    }
}

/// `ApplicationSetTemplate`: the metadata and spec of each generated Application, with
/// generator parameters such as `{{path}}` left in place for the controller to fill.
public struct ApplicationTemplate: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var labels: [String: String]
    public var finalizers: [String]
    public var spec: ApplicationSpec

    public init(name: String, labels: [String: String], finalizers: [String], spec: ApplicationSpec) {
        self.name = name; self.labels = labels; self.finalizers = finalizers; self.spec = spec
    }

    public var yamlNode: YAMLNode {
        var metadata = MappingBuilder()
        metadata.add("name", name)
        metadata.add("labels", sorted: labels)
        metadata.add("finalizers", strings: finalizers)
        return .mapping([("metadata", metadata.node), ("spec", spec.yamlNode)])
    }
}
