import KubeModel

/// A Secret that Argo CD reads as a repository connection
/// (label `argocd.argoproj.io/secret-type: repository`). Rendered with placeholders only:
/// the operator fills in the token when applying it, and no credential is ever committed.
public struct RepositorySecret: KubeObject {
    public static let apiVersion = "v1"
    public static let kind = "Secret"
    public static let secretTypeLabel = "argocd.argoproj.io/secret-type"
    public static let usernamePlaceholder = "<git-username>"
    public static let tokenPlaceholder = "<git-token>"

    public var metadata: ObjectMeta
    public var url: String

    /// `metadata` gets the repository label added.
    public init(metadata: ObjectMeta, url: String) {
        var metadata = metadata
        metadata.labels[Self.secretTypeLabel] = "repository"
        self.metadata = metadata
        self.url = url
    }

    public var bodyFields: [(String, YAMLNode)] {
        [
            ("stringData", .sorted([
                "type": "git",
                "url": url,
                "username": Self.usernamePlaceholder,
                "password": Self.tokenPlaceholder,
            ])),
            ("type", .string("Opaque")),
        ]
    }
}
