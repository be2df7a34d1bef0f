/// The metadata every rendered object carries.
public struct ObjectMeta: Sendable, Hashable, YAMLRepresentable {
    public var name: String
    public var namespace: String?
    public var labels: [String: String]
    public var annotations: [String: String]

    public init(name: String, namespace: String? = nil, labels: [String: String] = [:], annotations: [String: String] = [:]) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
    }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        m.add("name", name)
        m.add("namespace", namespace)
        m.add("labels", sorted: labels)
        m.add("annotations", sorted: annotations)
        return m.node
    }
}

/// A label selector with only `matchLabels`, which is all the templates need.
public struct LabelSelector: Sendable, Hashable, YAMLRepresentable {
    public var matchLabels: [String: String]
    public init(matchLabels: [String: String]) { self.matchLabels = matchLabels }

    public var yamlNode: YAMLNode {
        var m = MappingBuilder()
        // An empty selector is written as `{}`: it selects everything, which is meaningful.
        m.add("matchLabels", sorted: matchLabels)
        return m.node
    }
}

/// One Kubernetes object that can be written as one file.
public protocol KubeObject: YAMLRepresentable {
    static var apiVersion: String { get }
    static var kind: String { get }
    var metadata: ObjectMeta { get set }
    /// The fields after `metadata`, in Kubernetes order.
    var bodyFields: [(String, YAMLNode)] { get }
}

extension KubeObject {
    public var apiVersion: String { Self.apiVersion }
    public var kind: String { Self.kind }

    public var yamlNode: YAMLNode {
        .mapping([("apiVersion", .string(Self.apiVersion)), ("kind", .string(Self.kind)), ("metadata", metadata.yamlNode)] + bodyFields)
    }

    /// `<kind>-<name>.yaml`, lower case: the file this object lives in.
    public var fileName: String { "\(Self.kind.lowercased())-\(metadata.name.lowercased()).yaml" }
}

/// A type-erased object, so that a rendered environment can hold every kind in one list.
public struct AnyKubeObject: Sendable {
    public let kind: String
    public let apiVersion: String
    public let metadata: ObjectMeta
    public let fileName: String
    public let yamlNode: YAMLNode

    public init<T: KubeObject>(_ object: T) {
        kind = T.kind
        apiVersion = T.apiVersion
        metadata = object.metadata
        fileName = object.fileName
        yamlNode = object.yamlNode
    }

    public var yaml: String { YAMLEmitter.emit(yamlNode) }
}
