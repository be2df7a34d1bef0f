import Foundation
import KubeModel

/// How Manifestor reaches a running Argo CD (`argocd.server`, `argocd.applicationSetWebhook`):
/// read and checked with the config, the secrets read from their files (or
/// `MANIFESTOR_ARGOCD_TOKEN`) at load time. Its description never shows a secret.
public struct ArgoCDConnection: Sendable, CustomStringConvertible {
    /// The API server, without a trailing slash: refresh and status. Nil: no status, no gate.
    public var server: String?
    /// The project token (role with `applications, get`), sent as a Bearer token.
    public var token: String?
    public var caFile: String?
    /// The ApplicationSet controller's webhook URL.
    public var applicationSetWebhook: String?
    /// `webhook.github.secret`: signs the push events (`X-Hub-Signature-256`).
    public var webhookSecret: String?
    /// Bound on one request to Argo CD.
    public var timeoutSeconds: Double

    public init(server: String?, token: String?, caFile: String? = nil, applicationSetWebhook: String? = nil,
                webhookSecret: String? = nil, timeoutSeconds: Double = 5) {
        self.server = server.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.token = token; self.caFile = caFile
        self.applicationSetWebhook = applicationSetWebhook; self.webhookSecret = webhookSecret; self.timeoutSeconds = timeoutSeconds
    }

    public var description: String {
        "Argo CD server \(server ?? "-"), webhook \(applicationSetWebhook ?? "-"), token \(token == nil ? "absent" : "set"), secret \(webhookSecret == nil ? "absent" : "set")"
    }

    /// The connection the `argocd` section names, or nil when it names neither a server nor a
    /// webhook. `resolve` makes paths relative to the config file; `fail` builds the error.
    static func load(_ section: ManifestorConfig.ArgoCDSection?, resolve: (String?) -> String?,
                     fail: (String, String) -> InputError, environment: [String: String]) throws -> ArgoCDConnection? {
        guard let section, section.server != nil || section.applicationSetWebhook != nil else { return nil }
        for (key, value) in [("argocd.server", section.server), ("argocd.applicationSetWebhook", section.applicationSetWebhook)] {
            guard let value else { continue }
            guard let url = URL(string: value), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
                  url.user == nil, url.password == nil, url.query == nil else {
                throw fail(key, "must be an http:// or https:// URL with a host and no credentials or query, not \(YAMLEmitter.quoted(CommitMessage.oneLine(value)))")
            }
        }
        if let timeout = section.timeoutSeconds, !(0.1...120).contains(timeout) {
            throw fail("argocd.timeoutSeconds", "must be from 0.1 to 120 seconds")
        }
        func secret(_ key: String, _ path: String?) throws -> String? {
            guard let path = resolve(path) else { return nil }
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw fail(key, "cannot read \(path)")
            }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { throw fail(key, "\(path) is empty") }
            return value
        }
        var token = try secret("argocd.tokenFile", section.tokenFile)
        if token == nil, let env = environment["MANIFESTOR_ARGOCD_TOKEN"], !env.isEmpty { token = env }
        if section.server != nil, token == nil {
            throw fail("argocd.tokenFile", "argocd.server needs a project token: set argocd.tokenFile or MANIFESTOR_ARGOCD_TOKEN")
        }
        let caFile = resolve(section.caFile)
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) { throw fail("argocd.caFile", "cannot read \(caFile)") }
        return ArgoCDConnection(server: section.server, token: token, caFile: caFile,
                                applicationSetWebhook: section.applicationSetWebhook,
                                webhookSecret: try secret("argocd.webhookSecretFile", section.webhookSecretFile),
                                timeoutSeconds: section.timeoutSeconds ?? 5)
    }
}
