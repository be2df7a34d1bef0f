import KubeModel

/// A cert-manager `Certificate` (`cert-manager.io/v1`), with the fields the preview wildcard uses.
public struct Certificate: KubeObject {
    public static let apiVersion = "cert-manager.io/v1"
    public static let kind = "Certificate"
    public var metadata: ObjectMeta
    public var dnsNames: [String]
    public var secretName: String
    public var clusterIssuer: String

    public init(metadata: ObjectMeta, dnsNames: [String], secretName: String, clusterIssuer: String) {
        self.metadata = metadata; self.dnsNames = dnsNames; self.secretName = secretName; self.clusterIssuer = clusterIssuer
    }

    public var bodyFields: [(String, YAMLNode)] {
        // Field order of Go's CertificateSpec.
        [("spec", .mapping([
            ("dnsNames", .sequence(dnsNames.map { .string($0) })),
            ("secretName", .string(secretName)),
            ("issuerRef", .mapping([
                ("group", .string("cert-manager.io")),
                ("kind", .string("ClusterIssuer")),
                ("name", .string(clusterIssuer)),
            ])),
        ]))]
    }
}
