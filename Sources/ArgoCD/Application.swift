import KubeModel

/// An Argo CD `Application`.
public struct Application: KubeObject {
    public static let apiVersion = "argoproj.io/v1alpha1"
    public static let kind = "Application"
    public var metadata: ObjectMeta
    public var spec: ApplicationSpec

    public init(metadata: ObjectMeta, spec: ApplicationSpec) {
        self.metadata = metadata; self.spec = spec
    }

    public var bodyFields: [(String, YAMLNode)] { [("spec", spec.yamlNode)] }
}
