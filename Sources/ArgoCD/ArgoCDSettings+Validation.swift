import KubeModel

extension ArgoCDSettings {
    /// Throws the first setting that would render an object the API server or Argo CD refuses.
    public func validate() throws(InputError) {
        for (field, value) in [("argocd.namespace", argocdNamespace), ("argocd.ingressNamespace", ingressNamespace)]
        where !NameRules.isDNSLabel(value) {
            throw InputError(code: "invalid_config", field: field, rule: "must be a DNS label (lower-case alphanumerics and '-', at most 63), got '\(value)'")
        }
        for (field, value) in [("argocd.project", project), ("argocd.clusterIssuer", clusterIssuer)]
        where !NameRules.isDNSSubdomain(value) {
            throw InputError(code: "invalid_config", field: field, rule: "must be a DNS subdomain name, got '\(value)'")
        }
        // Two AppProjects of one name would be one object: the control plane's would widen this one.
        if project == ArgoCDManifests.controlPlaneProject {
            throw InputError(code: "invalid_config", field: "argocd.project", rule: "must not be '\(project)', the control plane's own AppProject")
        }
        // The wildcard's hosts are `task-<id>.<domain>`: the domain must leave room for a 63-character label.
        if !NameRules.isDNSSubdomain(previewDomain) || !previewDomain.contains(".") {
            throw InputError(code: "invalid_config", field: "argocd.previewDomain", rule: "must be a DNS name with at least two labels, got '\(previewDomain)'")
        }
        for (field, value) in [("repository.url", gitopsRepoURL), ("argocd.codeRepoURL", codeRepoURL), ("argocd.manifestorRepository", manifestorRepoURL)]
        where !Self.looksLikeGitURL(value) {
            throw InputError(code: "invalid_config", field: field, rule: "must be a git URL (https://, ssh://, file:// or user@host:path), got '\(value)'")
        }
        for (field, value) in [("repository.branch", gitopsBranch), ("argocd.codeRevision", codeRevision), ("argocd.manifestorRevision", manifestorRevision)]
        where value.isEmpty || value.contains(where: \.isWhitespace) {
            throw InputError(code: "invalid_config", field: field, rule: "must be a non-empty revision without spaces, got '\(value)'")
        }
    }

    static func looksLikeGitURL(_ url: String) -> Bool {
        guard !url.isEmpty, !url.contains(where: \.isWhitespace) else { return false }
        for scheme in ["https://", "http://", "ssh://", "file://", "git://"] where url.hasPrefix(scheme) {
            return url.count > scheme.count
        }
        // scp-like: git@host:owner/repo.git
        guard let at = url.firstIndex(of: "@"), let colon = url[at...].firstIndex(of: ":") else { return false }
        return at > url.startIndex && url.index(after: colon) < url.endIndex
    }
}
