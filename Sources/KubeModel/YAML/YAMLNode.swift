/// A YAML value built in the order it must be written.
///
/// Kubernetes objects are serialised by building `YAMLNode`s by hand: typed fields go in
/// Kubernetes' own field order, and only keys that come from dictionaries are sorted
/// (`YAMLNode.sorted(_:)`). The emitter never folds lines and quotes every string that a
/// YAML 1.1 reader could take for something else, so the output is byte-stable.
public indirect enum YAMLNode: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case sequence([YAMLNode])
    /// Keys are written in the order given.
    case mapping([(String, YAMLNode)])

    public static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case let (.sequence(a), .sequence(b)): return a == b
        case let (.mapping(a), .mapping(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A mapping from a dictionary, keys in code-point order.
    public static func sorted(_ dictionary: [String: String]) -> YAMLNode {
        .mapping(dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, .string($0.value)) })
    }

    /// A mapping from a dictionary of nodes, keys in code-point order.
    public static func sorted(_ dictionary: [String: YAMLNode]) -> YAMLNode {
        .mapping(dictionary.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, $0.value) })
    }
}

/// Builds an ordered mapping, leaving out fields that are absent.
///
/// Kubernetes treats an absent optional field differently from a zero one, so `nil` means
/// "not written", never "written as null".
public struct MappingBuilder {
    public private(set) var fields: [(String, YAMLNode)] = []

    public init() {}

    public mutating func add(_ key: String, _ value: YAMLNode?) {
        if let value { fields.append((key, value)) }
    }

    public mutating func add(_ key: String, _ value: String?) {
        if let value { fields.append((key, .string(value))) }
    }

    public mutating func add(_ key: String, _ value: Int?) {
        if let value { fields.append((key, .int(value))) }
    }

    public mutating func add(_ key: String, _ value: Bool?) {
        if let value { fields.append((key, .bool(value))) }
    }

    public mutating func add<T: YAMLRepresentable>(_ key: String, _ value: T?) {
        if let value { fields.append((key, value.yamlNode)) }
    }

    /// Adds a list, leaving it out when empty (Kubernetes' `omitempty`).
    public mutating func add<T: YAMLRepresentable>(_ key: String, _ values: [T]) {
        if !values.isEmpty { fields.append((key, .sequence(values.map(\.yamlNode)))) }
    }

    /// Adds a list of strings, leaving it out when empty.
    public mutating func add(_ key: String, strings values: [String]) {
        if !values.isEmpty { fields.append((key, .sequence(values.map { .string($0) }))) }
    }

    /// Adds a dictionary with sorted keys, leaving it out when empty.
    public mutating func add(_ key: String, sorted dictionary: [String: String]) {
        if !dictionary.isEmpty { fields.append((key, .sorted(dictionary))) }
    }

    public var node: YAMLNode { .mapping(fields) }
}

/// A value that knows its own YAML form.
public protocol YAMLRepresentable: Sendable {
    var yamlNode: YAMLNode { get }
}
